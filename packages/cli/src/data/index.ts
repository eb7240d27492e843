// Non-image datasets register themselves with the CLI here (one file each, e.g. ./moving-mnist.ts).
// The image datasets of @ssl/data are registered in ../datasets.ts.
import './graph';
import './moving-mnist';
import './sensors';
import './text';

export {};
