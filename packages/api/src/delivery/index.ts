// Delivery policy shared by every component that POSTs events to a sink: the broker's deliverer
// and the source emitter. Pure functions only; each component owns its HTTP client.
export {
  backoffMs,
  delayBeforeRetry,
  isRetryableStatus,
  isSuccessStatus,
  MAX_DELAY_MS,
  parseRetryAfter,
  retryAfterApplies,
} from './retry-policy.js';
