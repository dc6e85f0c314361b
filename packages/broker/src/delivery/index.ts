// The retry policy lives in @eddy/api (shared with the source emitter); re-exported for existing importers.
export { backoffMs, delayBeforeRetry, isRetryableStatus, parseRetryAfter } from '@eddy/api';
export {
  type AttemptFailure,
  createDeliverer,
  DEFAULT_MAX_REPLY_BYTES,
  DEFAULT_TIMEOUT_MS,
  type Deliverer,
  type DelivererOptions,
  type DeliveryOutcome,
  type DeliveryRequest,
} from './deliverer.js';
export {
  ERROR_CODE_EXTENSION,
  ERROR_DATA_EXTENSION,
  ERROR_DATA_MAX_BYTES,
  ERROR_DEST_EXTENSION,
  errorExtensions,
} from './error-extensions.js';
