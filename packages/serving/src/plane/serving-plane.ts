// The serving data plane: runs a ServingContract. Per revision it keeps a RevisionDeployment (runtime),
// an Autoscaler fed every tick by the Router's stats and the revision's backlog, and the router entries;
// it reports per-revision runtime status that the serving reconciler folds into Revision/Service status.

import type { BacklogReader, Condition, ServingContract } from '@eddy/api';
import type { InProcessHandler, ServingCertificate } from '@eddy/runtime';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { Decision } from '../autoscaler/autoscaler.js';
import type { Router } from '../router/router.js';
import type { ReplicaOutputLine } from '../runtime/process-runtime.js';
import type { DeploymentFailure, WorkloadRuntime } from '../runtime/runtime.js';

export interface ServingDataPlaneOptions {
  /** Default: the process runtime. */
  runtime?: WorkloadRuntime;
  /** Where the autoscaler reads lag; undefined = no backlog signal. */
  backlog?: BacklogReader;
  registry?: Registry;
  logger?: pino.Logger;
  /**
   * The router to drive (the plane closes it); default a new one on host:port. The serving primary
   * gives its PrimaryRouter, which shares the revisions with extra router processes.
   */
  router?: Router;
  /** Router listener; default 127.0.0.1:0. */
  host?: string;
  port?: number;
  /** The default router serves HTTPS with this certificate. */
  tls?: ServingCertificate;
  /** Autoscaler tick; default 1000 ms (Knative's is 2 s). */
  tickMs?: number;
  /** With the default process runtime: also called with every line a replica prints (see ProcessRuntimeOptions.onOutput). */
  onReplicaOutput?: (line: ReplicaOutputLine) => void;
  /** Caps max-scale (and unbounded max-scale) in embedded mode, where replicas are local processes. Default 10. */
  maxReplicasCap?: number;
}

/** A decision with when it was taken (ISO 8601). */
export type TimedDecision = Decision & { at: string };

export interface RevisionRuntimeStatus {
  namespace: string;
  name: string;
  desiredReplicas: number;
  actualReplicas: number;
  readyReplicas: number;
  /** Has any replica of this revision ever become ready (Knative keeps Ready=True at zero after that). */
  everReady: boolean;
  failure?: DeploymentFailure;
  /** Knative's revision conditions from the runtime's point of view: ContainerHealthy, ResourcesAvailable, Active. */
  conditions: Condition[];
  lastDecision?: TimedDecision;
  /** Router measurements of the last tick. */
  concurrency: number;
  rps: number;
  lag: number;
}

export interface ServingDataPlane {
  readonly url: string;
  /** Serves requests to `url` from components of this process without the network, when the router can. */
  readonly inProcessHandler?: InProcessHandler | undefined;
  routeUrl(namespace: string, name: string): string;
  tagUrl(namespace: string, name: string, tag: string): string;
  /** Starts/updates/stops revisions and routes; an older generation is ignored. */
  apply(contract: ServingContract): Promise<void>;
  statuses(): RevisionRuntimeStatus[];
  /** Recent decisions of one revision, newest last (bounded), for `eddy describe`. */
  decisions(namespace: string, revision: string): TimedDecision[];
  /** Called when any revision's status changed (so the control plane can recompute resource status). */
  subscribe(listener: () => void): () => void;
  /** Stops the router and every replica (SIGTERM, grace, SIGKILL). */
  close(): Promise<void>;
}
