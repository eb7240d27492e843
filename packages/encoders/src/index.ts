export * from './builders';
export * from './catalogue';
export * from './gcn';
export * from './io';
