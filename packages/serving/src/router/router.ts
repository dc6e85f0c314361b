// The router/activator's contract. One HTTP server in front of every revision and route: it splits a
// route's traffic by percent and tag, enforces containerConcurrency per replica (queueing beyond it),
// buffers requests while a revision has no ready replica (asking for one at once), and measures each
// revision's concurrency and request rate for the autoscaler.
//
// Addresses (embedded mode, one listener):
//   route (Service):  <url>/<namespace>/<name>/...          and Host: <name>.<namespace>[.<anything>]
//   tag:              <url>/<namespace>/<tag>-<name>/...    and Host: <tag>-<name>.<namespace>[...]
//   revision:         <url>/<namespace>/<revision>/...      and Host: <revision>.<namespace>[...]
// The path prefix is stripped before forwarding (the workload sees `/...`), and sent as X-Forwarded-Prefix.

import type { InProcessAnswer, InProcessRequest } from '@eddy/runtime';
import type { Replica } from '../runtime/runtime.js';
import type { RouterShare } from './capacity-split.js';

export interface RouterRevision {
  namespace: string;
  name: string;
  /** 0 = unlimited. */
  containerConcurrency: number;
  timeoutMs: number;
  responseStartTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface RouterRoute {
  namespace: string;
  name: string;
  /** Percent > 0 targets share the route address; tagged targets also get `<tag>-<name>`. */
  traffic: { revisionName: string; percent: number; tag?: string }[];
}

/** One revision's measurements over the interval since the previous takeStats(). */
export interface RevisionStats {
  namespace: string;
  revision: string;
  /** Time-weighted average of requests in flight at replicas plus queued, over the interval. */
  concurrency: number;
  /** Requests that arrived, per second, over the interval. */
  rps: number;
  /** Right now: requests being served by replicas. */
  inFlight: number;
  /** Right now: requests waiting (no ready replica, or every replica at containerConcurrency). */
  queued: number;
}

export interface Router {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  routeUrl(namespace: string, name: string): string;
  tagUrl(namespace: string, name: string, tag: string): string;
  revisionUrl(namespace: string, revision: string): string;
  /** Replaces the routing table; requests already queued for a removed revision get 503. */
  update(revisions: RouterRevision[], routes: RouterRoute[]): void;
  /** The ready replicas of a revision (the serving data plane passes RevisionDeployment.replicas()). */
  setReplicas(namespace: string, revision: string, replicas: readonly Replica[]): void;
  /** Called (synchronously, at most once per second per revision) when a request waits for a revision with no ready replica. */
  onDemand(listener: (namespace: string, revision: string) => void): void;
  /**
   * Optional. Marks a revision that cannot get a replica (e.g. the runtime cannot run its spec): while
   * it has no ready replica, its queued and new requests get 503 with this one-line reason instead of
   * waiting for the timeout. `undefined` clears it.
   */
  setFailure?(namespace: string, revision: string, reason: string | undefined): void;
  /**
   * Optional. This router's place among the live routers of a scaled-out serving plane: from now on
   * it sends each replica at most its share of containerConcurrency (capacity-split.ts). Default: alone.
   */
  setCapacityShare?(share: RouterShare): void;
  /**
   * Optional. A request from a component of this process, routed as one through the listener but
   * without the hop in front of it (runtime's InProcessOrigins).
   */
  requestInProcess?(request: InProcessRequest): Promise<InProcessAnswer>;
  /** Per-revision stats since the last call (every revision in the table, zeros included). */
  takeStats(now?: number): RevisionStats[];
  close(): Promise<void>;
}
