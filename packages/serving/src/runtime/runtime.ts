// Where revisions run. Embedded mode runs each replica as a local process (process-runtime.ts),
// Kubernetes mode as a Deployment's Pods (kubernetes-runtime.ts). The serving data plane
// only ever says how many replicas a revision should have and reads which ones are ready.

import type { ResolvedProbe } from '@eddy/api';

/** What a runtime needs to run one revision (a subset of ServingRevision). */
export interface WorkloadSpec {
  namespace: string;
  revision: string;
  configuration: string;
  service?: string;
  command: string[];
  args: string[];
  /** Literal env; the runtime adds PORT, K_SERVICE, K_CONFIGURATION, K_REVISION. */
  env: Record<string, string>;
  workingDir?: string;
  readiness: ResolvedProbe;
  /** SIGTERM, then SIGKILL after this long if the replica has not exited. */
  terminationGraceMs: number;
  /** serving.knative.dev/progress-deadline in ms; the Kubernetes runtime sets the Deployment's progressDeadlineSeconds from it. Absent = 600 000. */
  progressDeadlineMs?: number;
  /** The pod spec, for the Kubernetes runtime (ServingRevision.podSpec); the process runtime ignores it. */
  podSpec?: Record<string, unknown>;
}

export interface Replica {
  /** Unique within the runtime, e.g. `default/hello-00001#3`. */
  id: string;
  /** `http://127.0.0.1:<port>`: where the router sends requests. */
  url: string;
  /** Passed its readiness probe and not terminating. */
  ready: boolean;
  /** OS process id (process runtime only; also its process-group id). */
  pid?: number;
}

/** Why a revision cannot run, Knative-style (RevisionFailed / ContainerHealthy=False reasons). */
export interface DeploymentFailure {
  /** `ExitCode<n>` / `CrashLoopBackOff` / `ProbeFailed` / `SpawnFailed` (command not found, ...). */
  reason: string;
  /** One line: what happened, e.g. `process exited with code 1 before becoming ready`. */
  message: string;
  /** The replica's last log lines (stdout and stderr), oldest first; at most ~20. */
  lastLogLines: string[];
  exitCode?: number;
  signal?: string;
}

export interface DeploymentStatus {
  /** Last value given to scale(). */
  desired: number;
  /** Replica processes that exist (starting, ready or terminating). */
  actual: number;
  ready: number;
  /** Replica processes restarted after an unexpected exit or a failed start, since deploy(). */
  restarts?: number;
  /** Set while replicas keep failing (cleared when one becomes ready). */
  failure?: DeploymentFailure;
}

export interface RevisionDeployment {
  readonly spec: WorkloadSpec;
  /** Sets the wanted replica count; the runtime starts or stops replicas towards it (newest stopped first). */
  scale(replicas: number): void;
  status(): DeploymentStatus;
  /** Current replicas (not yet exited). A replica leaves the ready set before it gets SIGTERM. */
  replicas(): Replica[];
  /** Called whenever replicas() or status() may have changed; returns an unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Scales to zero and waits for every replica to exit (SIGKILL after the grace period). */
  close(): Promise<void>;
}

export interface WorkloadRuntime {
  /** Starts managing a revision with zero replicas; throws for a spec this runtime cannot run. */
  deploy(spec: WorkloadSpec): RevisionDeployment;
  /** Closes every deployment. */
  close(): Promise<void>;
}
