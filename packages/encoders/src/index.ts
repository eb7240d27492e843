export * from './builders';
export * from './catalogue';
export * from './gcn';
export * from './bag-of-embeddings';
export * from './io';
export * from './transformer';
export * from './split';
export * from './vit';
