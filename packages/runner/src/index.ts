export * from './catalogue';
export * from './settings';
export * from './config';
export * from './pipeline';
export * from './report';
export * from './experiment';
export * from './evaluate';
export * from './training';
