export * from './time-window.js';
