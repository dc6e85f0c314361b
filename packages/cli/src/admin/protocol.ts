// The admin API between `eddy dev` (server) and the other CLI verbs (clients): HTTP/JSON on 127.0.0.1,
// every request carrying the token `eddy dev` wrote into its data dir. Like kubeconfig, the data dir is
// how a verb finds the server: `--data-dir <dir>`, else EDDY_DATA_DIR, else `.eddy/` in the cwd.
//
//   GET    /v1/status                                  -> StatusResponse   (also the health check)
//   GET    /v1/resources[?kind=<Kind>][&namespace=<ns>] -> ResourceList     (kind: the Kind, e.g. Trigger)
//   GET    /v1/resources/<Kind>/<ns>/<name>             -> StoredResource   (404 ErrorResponse)
//   GET    /v1/describe/<Kind>/<ns>/<name>              -> DescribeResponse
//   POST   /v1/apply    ApplyRequest                    -> ApplyResponse    (400 ErrorResponse: nothing applied;
//                                                          409 with `create` when one already exists)
//   POST   /v1/delete   ApplyRequest (the documents to delete) -> DeleteResponse
//   DELETE /v1/resources/<Kind>/<ns>/<name>             -> DeleteResponse   (404 when absent)
//   GET    /v1/tail?namespace=<ns>&broker=<name>[&filter=<cesql>]
//                 [&from=<epoch ms>]
//          -> 200 application/x-ndjson: one structured-mode CloudEvent JSON object per line, live, from the
//             moment of the request (with `from`: the history from then first), until the client
//             disconnects (400 bad filter with its position, 404 unknown broker). The first line is
//             `{"tailing": "<ns>/<broker>"}` once the stream is live.
//   GET    /v1/export?namespace=<ns>&broker=<name>&from=<epoch ms>[&to=<epoch ms>][&filter=<cesql>]
//          -> 200 application/x-ndjson: the events appended in [from, to) (to: default now), one export
//             line each (packages/cli/src/events/export-format.ts), between control lines
//             (`{"$export": ...}` first, `{"$progress": ...}`, `{"$end": ...}` or `{"$error": ...}` last;
//             see packages/cli/src/dev/export.ts). The stream ends at `to`: it never follows live traffic.
//   GET    /v1/topology                                -> Topology (the live picture the dashboard draws:
//                                                          nodes, edges, rates, lags, replicas, Ready)
//   GET    /v1/topology/stream -> 200 text/event-stream: `event: topology` with a Topology as `data`, at
//             once and whenever it changes (sampled every second), until the client disconnects.
//   POST   /v1/dashboard/login-code                    -> DashboardLoginCode (a one-time code for the
//                                                          dashboard's login link; see docs/dashboard.md)
//
// Errors are `ErrorResponse` with a one-line `error`; 401 for a missing or wrong token. The dashboard
// (served at /dashboard/ by the same server, packages/dashboard) authenticates its GET requests with an
// HttpOnly SameSite=Strict session cookie instead, which it gets by exchanging a one-time code
// (GET /dashboard/login?code=) or the token itself (POST /dashboard/login, form body): the cookie is
// accepted for GET /v1/... only, so it can read but never change anything.

/** File in the data dir that `eddy dev` writes (mode 0600) when its admin API listens, and removes on exit. */
export const ADMIN_FILE = 'admin.json';
/** Eddy's OIDC signing key in the data dir (created once, mode 0600). */
export const OIDC_SIGNING_KEY_FILE = 'oidc-signing-key.pem';

/** POST: a token of Eddy's issuer for `eddy send` (admin token required). */
export const IDENTITY_TOKEN_PATH = '/v1/identity/token';
/** The service account `eddy send`'s tokens name: `system:serviceaccount:<namespace>:eddy-cli`. */
export const CLI_SERVICE_ACCOUNT = 'eddy-cli';

export interface IdentityTokenRequest {
  /** The OIDC audience of the target (a Broker's `status.address.audience`). */
  audience: string;
  /** The namespace of the CLI's service account; default `default`. */
  namespace?: string;
}

export interface IdentityTokenResponse {
  token: string;
  subject: string;
  /** ISO 8601. */
  expiresAt: string;
}
export const DEFAULT_DATA_DIR = '.eddy';
export const DATA_DIR_ENV = 'EDDY_DATA_DIR';
export const TOKEN_HEADER = 'authorization'; // value: `Bearer <token>`

export interface AdminFile {
  /** `http://127.0.0.1:<port>` of the admin API. */
  url: string;
  token: string;
  /** The `eddy dev` process, so a client can tell "not running" from "not answering". */
  pid: number;
  startedAt: string;
}

export interface StatusResponse {
  version: string;
  dataDir: string;
  eventLog: 'embedded' | 'kafka';
  /** Base URL of the broker ingress (brokers at /<ns>/<name>). */
  brokerIngressUrl: string;
  /** Base URL of the serving router (services at /<ns>/<name>). */
  routerUrl: string;
  /** Files `eddy dev -f` watches. */
  watching: string[];
  resources: number;
  /**
   * With the broker as processes (`eddy dev --kafka`): each one as the contract feed last heard
   * from it, the generation it runs and why its last contract failed, if it did.
   */
  brokerProcesses?: ComponentProcessStatus[];
  /**
   * With the sources as processes (`eddy dev --kafka`, `--sources N`): each `eddy sources` process in
   * shard order, as its feed last heard from it; absent fields while it is not running or has not
   * polled yet.
   */
  sourcesProcesses?: SourcesProcessInfo[];
  /** @deprecated The first of `sourcesProcesses` (`sources-1`), for clients from before `--sources N`. */
  sourcesProcess?: SourcesProcessInfo;
  /**
   * With serving as a process (`eddy dev --kafka`): the `eddy serving` process (component `serving`)
   * and, with `--routers N`, its extra routers (component `router`), the same way.
   */
  servingProcesses?: ComponentProcessStatus[];
}

/** A data-plane process `eddy dev` supervises, as its contract feed knows it. */
export interface ComponentProcessStatus {
  id: string;
  component: string;
  /** Its process id now (a restarted process has a new one). */
  pid?: number;
  /** Contract generation it runs; absent before its first. */
  generation?: number;
  error?: string;
  /** Milliseconds since it last polled the feed. */
  lastSeenMs: number;
}

export interface SourcesProcessInfo extends Omit<ComponentProcessStatus, 'lastSeenMs'> {
  /** Absent while it has not polled its feed (starting, or restarting after it exited). */
  lastSeenMs?: number;
  /** Why it is not running, e.g. `exited (signal SIGKILL), restarting`. */
  down?: string;
  /** Which member of the sources processes it is: `<index>/<count>` (its `--shard`). */
  shard?: string;
  /** Sources placed on it (those every member runs, and those it owns). */
  sources: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A resource as stored, with `metadata.generation` and a Knative-style `status` filled in by the server. */
export interface StoredResource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    generation: number;
    creationTimestamp: string;
    /** Unique per object: a resource deleted and created again under its name gets a new one. */
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; controller?: boolean }[];
  };
  spec?: unknown;
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    address?: { url: string; audience?: string };
    url?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface ResourceList {
  items: StoredResource[];
}

export interface DescribeEvent {
  time: string;
  /** Normal | Warning, as `kubectl describe` shows them. */
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface DescribeResponse {
  resource: StoredResource;
  /** Recent things that happened to it (applied, became ready, failed, scaled, ...), oldest first. */
  events: DescribeEvent[];
  /** For Revisions (and Services: their revisions'): recent autoscaler decisions, oldest first. */
  decisions?: { at: string; revision: string; desired: number; reason: string; detail: string }[];
  /** For Brokers: the oldest event its topic still holds (retention is the archive). */
  oldestEvent?: OldestEvent;
  /**
   * What it owns (a Sequence's channels and subscriptions, a Service's Configuration and Route, ...):
   * each with its Ready condition; absent when it owns nothing.
   */
  children?: DescribeChild[];
}

export interface DescribeChild {
  kind: string;
  name: string;
  ready: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** `time`: RFC 3339, or null when the topic is empty; `error`: why it could not be read. */
export type OldestEvent = { time: string | null } | { error: string };

export interface ApplyRequest {
  /** Multi-document YAML (or JSON) text. */
  text: string;
  /** Shown in error locations, e.g. the path the client read it from. */
  file: string;
  /**
   * Absolute directory that relative paths in the manifests' containers (`command`, `args`,
   * `workingDir`) resolve against: the file's directory, or the client's working directory for
   * stdin. Default: eddy dev's working directory. Ignored by delete.
   */
  baseDir?: string;
  /**
   * Create only (kubectl create): when any of the objects already exists, nothing is applied and the
   * answer is 409. For objects that must never be overwritten by accident, such as a Replay.
   */
  create?: boolean;
}

export interface AppliedItem {
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted' | 'not found';
}

export interface ApplyResponse {
  items: AppliedItem[];
  /** Validation warnings (e.g. kinds Eddy does not run), as one-line located messages. */
  warnings: string[];
}

export type DeleteResponse = ApplyResponse;

export interface ErrorResponse {
  /** One line, e.g. `quickstart.yaml:12:5: Trigger default/t1: spec.broker: expected a string`. */
  error: string;
  /** Every problem when there are several (validation), one located line each. */
  problems?: string[];
}

/** A one-time code: `${url}` opens the dashboard logged in (the code is spent on first use). */
export interface DashboardLoginCode {
  url: string;
  expiresAt: string;
}

/**
 * What the dashboard draws: every resource as a node (any kind, so kinds added later show too), the
 * paths events take as edges, and the live numbers, sampled over the last `windowSeconds`.
 */
export interface Topology {
  /** When it was sampled (RFC 3339). */
  at: string;
  /** Rates are per second over this window. */
  windowSeconds: number;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
  /** What the data source cannot measure (e.g. rates of data-plane processes), one line each. */
  notes?: string[];
}

/** How the dashboard groups nodes into columns, left to right; `other` for kinds it does not know. */
export type TopologyRole = 'source' | 'mesh' | 'route' | 'service' | 'revision' | 'flow' | 'other';

export interface TopologyNode {
  /** `<Kind>/<namespace>/<name>`, or `url:<uri>` for a URI destination. */
  id: string;
  kind: string;
  namespace: string;
  name: string;
  role: TopologyRole;
  /** The Ready condition's status; absent for kinds without one (URLs). */
  ready?: 'True' | 'False' | 'Unknown';
  /** The Ready condition's reason and message when it is not True. */
  reason?: string;
  /** A Trigger's or a Subscription's filter, as one line. */
  filter?: string;
  /** Events/s into a Broker or Channel (ingress accepted), or sent by a source. */
  rate?: number;
  /** A Trigger's or Subscription's events not yet committed (queued + in flight). */
  lag?: number;
  /** A Revision's replicas. */
  replicas?: { actual: number; desired: number; ready: number };
  /** A Revision's last autoscaler decision. */
  decision?: { at: string; desired: number; reason: string; detail: string };
}

export type TopologyEdgeKind = 'sink' | 'route' | 'subscriber' | 'reply' | 'dead-letter' | 'traffic' | 'owns';

export interface TopologyEdge {
  /** `<from>-><to>:<kind>`: stable across updates. */
  id: string;
  from: string;
  to: string;
  kind: TopologyEdgeKind;
  /** Events/s along it, where measured. */
  rate?: number;
  /** A traffic edge's percent. */
  percent?: number;
}
