export * from './features';
export * from './probe';
export * from './knn';
export * from './splits';
export * from './pca';
export * from './report';
export * from './finetune';
export * from './multilabel';
