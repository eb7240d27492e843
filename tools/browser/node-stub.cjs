/* global module */
// Stands in for Node's built-in modules in a browser bundle of the @ssl packages. Only their
// Node-only code paths (files, run folders, checkpoints, dataset loaders) touch these modules.
module.exports = {};
