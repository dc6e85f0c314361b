export { eventLogHealth } from './probes.js';
