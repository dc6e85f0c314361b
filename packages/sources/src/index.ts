export const packageName = '@eddy/sources';
export { builtinAdapters, createSourceRegistry } from './builtins.js';
export * from './sdk/index.js';
