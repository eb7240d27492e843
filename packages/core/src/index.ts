export * from './rng';
export * from './errors';
export * from './types';
export * from './backend';
export { registerWasmTrainingKernels } from './wasm-kernels';
