export * from './errors';
export * from './frames';
export * from './job';
export * from './messages';
export * from './model';
export * from './sampling';
