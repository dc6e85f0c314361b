export { attributeString, timeString } from './attribute-value.js';
export { compileFilter, type EventFilter, FilterCompileError, type FilterResult } from './compile-filter.js';
