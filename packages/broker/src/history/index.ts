export * from './oldest-event.js';
export * from './time-window.js';
export * from './window-reader.js';
