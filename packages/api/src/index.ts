export const packageName = '@eddy/api';
export * from './cesql/index.js';
export * from './cloudevents/http-binding.js';
export * from './cloudevents/kafka-binding.js';
export * from './contract/data-plane-contract.js';
export * from './delivery/index.js';
export * from './resources/index.js';
