export const packageName = '@eddy/api';
export * from './cloudevents/kafka-binding.js';
export * from './resources/index.js';
