export * from './builders';
export * from './catalogue';
export * from './io';
