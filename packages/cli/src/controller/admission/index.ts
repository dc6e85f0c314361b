export {
  createWebhookCertificates,
  loadOrCreateWebhookCertificates,
  type WebhookCertificates,
} from './certificates.js';
export {
  clusterRoleOwner,
  DEFAULTING_WEBHOOK_NAME,
  registerAdmissionWebhooks,
  VALIDATING_WEBHOOK_NAME,
  type WebhookOwner,
  type WebhookTarget,
  webhookConfigurations,
} from './configurations.js';
export { defaultingPatch, type JsonPatchOperation } from './json-patch.js';
export {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  defaultReview,
  validateReview,
} from './review.js';
export { type AdmissionWebhook, type AdmissionWebhookOptions, startAdmissionWebhook } from './server.js';
