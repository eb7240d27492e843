export * from './image';
export * from './idx';
export * from './dataset';
export * from './mnist';
export * from './imagefolder';
export * from './load';
export * from './augment';
export * from './graph';
