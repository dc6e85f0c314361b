export { type BoundedBody, DRAIN_LIMIT_BYTES, readBounded } from './bounded-body.js';
export { type CleanupStack, type CleanupStep, cleanupStack } from './cleanup-stack.js';
export { CommitTracker } from './commit-tracker.js';
export { ContractFeed, type Generational, type MemberReport, type MemberState } from './contract-feed.js';
export {
  acceptReport,
  answerPoll,
  FeedRequestError,
  MAX_POLL_WAIT_MS,
} from './contract-feed-http.js';
export { type ContractFeedServer, serveContractFeed } from './contract-feed-server.js';
export {
  type ContractWatch,
  type ContractWatchOptions,
  isUrlSource,
  requireFileContract,
  type WatchLogger,
  watchContract,
} from './contract-watch.js';
export {
  type CounterStatus,
  countersSignature,
  DEFAULT_REPORTED_SERIES,
  RATE_COUNTERS,
  type ReportedCounter,
  readCounters,
  reportedCounters,
} from './counter-report.js';
export { describeError } from './describe-error.js';
export { registerFeedRoutes } from './feed-routes.js';
export { freshCall } from './fresh-call.js';
export { HEAP_AFTER_MAJOR_GC_METRIC, registerHeapAfterMajorGc } from './heap-after-gc.js';
export * from './identity/index.js';
export {
  type InProcessAnswer,
  type InProcessHandler,
  InProcessOrigins,
  type InProcessRequest,
} from './in-process-http.js';
export { loadKubeConfig, withSharedConnections } from './kube-connections.js';
export { type LevelGauge, registeredLevelGauge } from './level-gauge.js';
export { Limiter } from './limiter.js';
export { LinkedAbort } from './linked-abort.js';
export { boundPort, listenUrl } from './listen-url.js';
export { COMPONENT_NODE_FLAGS } from './node-flags.js';
export {
  PROBE_PATHS,
  type ProbeResult,
  type ProbeServer,
  type Probes,
  processRegistry,
  registerProbeRoutes,
  startProbeServer,
} from './probes.js';
export { isRunning } from './process-alive.js';
export * from './process-group-reaper.js';
export {
  choiceList,
  type FlagSpec,
  isEntryPoint,
  type MainLogger,
  type ParsedFlags,
  type ProcessMainSpec,
  parseFlags,
  type RunningProcess,
  readContractFile,
  runProcessMain,
  UsageError,
  usageText,
} from './process-main.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, requestTimeoutServer } from './request-timeout.js';
export { bearerMatches, sameSecret } from './secret-compare.js';
export {
  bearerToken,
  TokenRejectedError,
  TokenVerifier,
  type TokenVerifierOptions,
  type TrustedIssuerConfig,
  type VerifiedSender,
} from './sender-auth/token-verifier.js';
export { type StatusReporter, type StatusReporterOptions, startStatusReporter } from './status-reporter.js';
export { sleep, TimeoutError, withTimeout } from './timers.js';
export { type CertificateOptions, type CertificateSet, createCertificates } from './tls/certificates.js';
export { type CertificateLogger, ServingCertificate } from './tls/serving-certificate.js';
export { servingCertificateFromFlags, TLS_FLAGS, tlsFlagFiles } from './tls/tls-flags.js';
export {
  checkTlsMaterial,
  MIN_TLS_VERSION,
  parseCertificates,
  readTlsFiles,
  secureContextOptions,
  TLS_SECRET_KEYS,
  TlsConfigError,
  type TlsFiles,
  type TlsLabels,
  type TlsMaterial,
  tlsFromSecretData,
  trustAnchor,
} from './tls/tls-material.js';
export { describeTlsFailure, TrustedAgents } from './tls/trusted-agents.js';
export { type WaitFor, type WaitOptions, waitFor, waitForWith } from './wait-for.js';
export { workingDirectoryProblem } from './working-directory.js';
