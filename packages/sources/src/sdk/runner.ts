// Runs source adapters from resolved source definitions (the contract), one instance per source:
// apply() starts or updates, remove() stops, statuses() reports each source's Ready condition.

import { isDeepStrictEqual } from 'node:util';
import { apiGroup, oidcSenderSubject, type ValueStore } from '@eddy/api';
import {
  type SenderTokens,
  type ServingCertificate,
  TimeoutError,
  TrustedAgents,
  withTimeout,
} from '@eddy/runtime';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { RunningSource, SourceContext, SourceDefinition, SourceHealth } from './adapter.js';
import { sourceAddress } from './address.js';
import { createEmitter, type EmitterAuth } from './emitter.js';
import { type SourceMetricsRecorder, sourceMetrics } from './metrics.js';
import type { SourceRegistry } from './registry.js';
import { createConfigMapResolver, createEnvSecretResolver } from './secrets.js';

/** Knative-style Ready condition of one source. */
export interface ReadyCondition {
  type: 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** ISO time of the last status change. */
  lastTransitionTime: string;
}

export interface SourceStatus {
  key: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  ready: ReadyCondition;
  /**
   * Where the source receives events (an adapter that listens for HTTP reported it with
   * setAddress()); only while `ready` is True.
   */
  address?: { url: string };
}

export interface SourceRunnerOptions {
  /** Which adapter runs which kind (createSourceRegistry() has the built-ins). */
  adapters: SourceRegistry;
  /** Prometheus registry for the eddy_source_* metrics; default a new one. */
  registry?: Registry;
  /** Default pino at warn. */
  logger?: Logger;
  /** Directories of embedded-mode secret files (see secrets.ts); default none. */
  secretDirs?: string[];
  /** Eddy's sender tokens, for sources whose sink has an OIDC audience (`sinkAudience`). */
  tokens?: Pick<SenderTokens, 'authorization'>;
  /** Environment for secret lookups; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Secret and ConfigMap manifests (`eddy dev`'s store) for secretKeyRef / configMapKeyRef; default none. */
  values?: ValueStore;
  /** First wait before restarting an adapter whose start() failed (doubles up to 60 s); default 1000. */
  restartDelayMs?: number;
  /** How long stop() of one adapter may take before the runner gives up on it; default 30 000. */
  stopTimeoutMs?: number;
  /**
   * Path of the kubeconfig file for adapters that talk to a Kubernetes API server (ApiServerSource):
   * `eddy dev --kubeconfig`, `eddy sources --kubeconfig`. Handed to them as `context.kubeconfig`.
   */
  kubeconfig?: string;
  /** Handed to adapters as `context.tls`: webhook endpoints serve HTTPS with it. Default plain HTTP. */
  tls?: ServingCertificate;
}

export interface SourceRunner {
  /**
   * Starts the source, or restarts it when its definition changed (a no-op when unchanged).
   * Rejects, changing nothing, for an unknown kind, an invalid spec or sink; a start() failure is
   * not a rejection: it shows in statuses() (Ready=False, StartFailed) and is retried with backoff.
   */
  apply(source: SourceDefinition): Promise<SourceStatus>;
  /** Stops and forgets a source; unknown keys are ignored. */
  remove(key: string): Promise<void>;
  statuses(): SourceStatus[];
  /** Stops every source and closes the HTTP connections. */
  close(): Promise<void>;
}

/** The runner's key of a source: `<kind>/<namespace>/<name>`. */
export function sourceKey(source: Pick<SourceDefinition, 'kind' | 'namespace' | 'name'>): string {
  return `${source.kind}/${source.namespace}/${source.name}`;
}

interface Instance {
  key: string;
  definition: SourceDefinition;
  controller: AbortController;
  metrics: SourceMetricsRecorder;
  logger: Logger;
  ready: ReadyCondition;
  healthReported: boolean;
  /** What the adapter's current start reported with setAddress(). */
  address?: string;
  running?: RunningSource;
  starting?: Promise<void>;
  restartTimer?: NodeJS.Timeout;
  failures: number;
}

const MAX_RESTART_DELAY_MS = 60_000;

/**
 * What apply() refuses before it changes anything: a definition without its string fields, an
 * unknown kind, a spec the adapter's schema rejects, a bad sink URL, ceOverrides or delivery policy.
 * Throws saying which; exported so a runner in another process (`eddy dev` driving `eddy sources`)
 * refuses the same definitions at once.
 */
export function checkSourceDefinition(adapters: SourceRegistry, source: SourceDefinition): void {
  for (const field of ['apiVersion', 'kind', 'namespace', 'name', 'sink'] as const) {
    if (typeof source[field] !== 'string' || source[field] === '') {
      throw new TypeError(
        `source definition: "${field}" must be a non-empty string, found ${String(source[field])}`,
      );
    }
  }
  if (source.sinkAcceptsBatch !== undefined && typeof source.sinkAcceptsBatch !== 'boolean') {
    throw new TypeError(
      `source definition: "sinkAcceptsBatch" must be a boolean, found ${JSON.stringify(source.sinkAcceptsBatch)}`,
    );
  }
  adapters.get(source.apiVersion, source.kind);
  adapters.validateSpec(source.apiVersion, source.kind, source.spec);
  // Builds (and drops) an emitter: it checks the sink, ceOverrides and policy without sending anything.
  createEmitter({ sink: source.sink, ceOverrides: source.ceOverrides, policy: source.delivery });
}

/** The emitter's `auth` when the sink has an audience: the source's own OIDC subject. */
function emitterAuth(
  d: SourceDefinition,
  tokens: Pick<SenderTokens, 'authorization'> | undefined,
  logger: Logger,
): { auth?: EmitterAuth } {
  if (!d.sinkAudience) return {};
  if (!tokens) {
    logger.warn(
      { sinkAudience: d.sinkAudience },
      'the sink has an OIDC audience but this process has no signing key: events go without a token',
    );
    return {};
  }
  const subject = oidcSenderSubject(apiGroup(d.apiVersion), d.kind, d.namespace, d.name);
  return { auth: { tokens, subject, audience: d.sinkAudience } };
}

export function createSourceRunner(options: SourceRunnerOptions): SourceRunner {
  const adapters = options.adapters;
  const registry = options.registry ?? new Registry();
  const logger = options.logger ?? pino({ level: 'warn' });
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  // One Agent per distinct sink CACerts set (a sink without them: the system's CAs).
  const agents = new TrustedAgents({ keepAliveTimeout: 4_000 });
  const instances = new Map<string, Instance>();
  let closed = false;

  function setReady(instance: Instance, status: ReadyCondition['status'], reason?: string, message?: string) {
    const r = instance.ready;
    if (r.status === status && r.reason === reason && r.message === message) return;
    instance.ready = {
      type: 'Ready',
      status,
      reason,
      message,
      lastTransitionTime: r.status === status ? r.lastTransitionTime : new Date().toISOString(),
    };
  }

  function statusOf(instance: Instance): SourceStatus {
    const d = instance.definition;
    return {
      key: instance.key,
      apiVersion: d.apiVersion,
      kind: d.kind,
      namespace: d.namespace,
      name: d.name,
      ready: { ...instance.ready },
      ...(instance.address && instance.ready.status === 'True' ? { address: { url: instance.address } } : {}),
    };
  }

  function scheduleRestart(instance: Instance): void {
    const delay = Math.min(restartDelayMs * 2 ** (instance.failures - 1), MAX_RESTART_DELAY_MS);
    instance.restartTimer = setTimeout(() => {
      instance.restartTimer = undefined;
      if (!instance.controller.signal.aborted) instance.starting = start(instance);
    }, delay);
  }

  async function start(instance: Instance): Promise<void> {
    const d = instance.definition;
    const adapter = adapters.get(d.apiVersion, d.kind);
    const signal = instance.controller.signal;
    // A new attempt starts without the address of a failed one.
    instance.address = undefined;
    const { auth } = emitterAuth(d, options.tokens, instance.logger);
    const context: SourceContext = {
      apiVersion: d.apiVersion,
      kind: d.kind,
      namespace: d.namespace,
      name: d.name,
      spec: d.spec,
      annotations: { ...(d.annotations ?? {}) },
      labels: { ...(d.labels ?? {}) },
      sink: d.sink,
      ceOverrides: d.ceOverrides,
      ...(options.tls ? { tls: options.tls } : {}),
      emitter: createEmitter({
        sink: d.sink,
        ceOverrides: d.ceOverrides,
        policy: d.delivery,
        acceptsBatch: d.sinkAcceptsBatch === true,
        ...(auth ? { auth } : {}),
        signal,
        dispatcher: agents.for(d.sinkCACerts),
        logger: instance.logger,
        metrics: instance.metrics,
      }),
      ...(auth ? { sinkAuthorization: () => auth.tokens.authorization(auth.subject, auth.audience) } : {}),
      logger: instance.logger,
      metrics: instance.metrics,
      signal,
      secrets: createEnvSecretResolver({
        namespace: d.namespace,
        ...(options.env ? { env: options.env } : {}),
        ...(options.values ? { store: options.values } : {}),
        ...(options.secretDirs ? { dirs: options.secretDirs } : {}),
      }),
      configMaps: createConfigMapResolver({
        namespace: d.namespace,
        ...(options.values ? { store: options.values } : {}),
      }),
      ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
      setHealth(health: SourceHealth) {
        if (signal.aborted) return;
        instance.healthReported = true;
        setReady(instance, health.ready ? 'True' : 'False', health.reason, health.message);
      },
      setAddress(url) {
        const address = url === undefined ? undefined : sourceAddress(url);
        if (!signal.aborted) instance.address = address;
      },
    };
    try {
      const running = await adapter.start(context);
      if (!running || typeof running.stop !== 'function') {
        throw new TypeError(`${d.kind} adapter: start() must return { stop(): Promise<void> }`);
      }
      if (signal.aborted) {
        // Removed or replaced while starting: nobody else will stop it.
        await running.stop();
        return;
      }
      instance.running = running;
      instance.failures = 0;
      if (!instance.healthReported) setReady(instance, 'True', 'Started');
    } catch (err) {
      if (signal.aborted) return;
      instance.address = undefined;
      instance.failures++;
      const message = err instanceof Error ? err.message : String(err);
      instance.logger.warn({ err, failures: instance.failures }, 'source adapter failed to start');
      setReady(instance, 'False', 'StartFailed', message);
      scheduleRestart(instance);
    }
  }

  /** Waits for `work` at most stopTimeoutMs; true when it settled in time. */
  async function bounded(work: Promise<unknown>, instance: Instance, what: string): Promise<boolean> {
    try {
      await withTimeout(work, stopTimeoutMs, `source adapter: ${what} did not end in time`);
      return true;
    } catch (err) {
      if (err instanceof TimeoutError) {
        instance.logger.warn({ stopTimeoutMs }, err.message);
        return false;
      }
      instance.logger.warn({ err }, `source adapter: ${what} failed`);
      return true;
    }
  }

  async function stop(instance: Instance): Promise<void> {
    instance.controller.abort();
    if (instance.restartTimer) clearTimeout(instance.restartTimer);
    // A start() that ignores the signal must not hang removal or close().
    if (instance.starting) await bounded(instance.starting, instance, 'start()');
    const running = instance.running;
    instance.running = undefined;
    if (running) await bounded(running.stop(), instance, 'stop()');
  }

  return {
    async apply(source) {
      if (closed) throw new Error('source runner is closed');
      // Checked now, so a bad definition is rejected before anything stops.
      checkSourceDefinition(adapters, source);
      const key = sourceKey(source);
      const existing = instances.get(key);
      if (existing && isDeepStrictEqual(existing.definition, source)) return statusOf(existing);
      if (existing) {
        instances.delete(key);
        // Same kind/namespace/name, so the metric series carry on.
        await stop(existing);
      }
      const instanceLogger = logger.child({
        kind: source.kind,
        namespace: source.namespace,
        name: source.name,
      });
      const instance: Instance = {
        key,
        definition: structuredClone(source),
        controller: new AbortController(),
        metrics: sourceMetrics(registry, source),
        logger: instanceLogger,
        ready: {
          type: 'Ready',
          status: 'Unknown',
          reason: 'Starting',
          lastTransitionTime: new Date().toISOString(),
        },
        healthReported: false,
        failures: 0,
      };
      instances.set(key, instance);
      instance.starting = start(instance);
      await instance.starting;
      return statusOf(instance);
    },

    async remove(key) {
      const instance = instances.get(key);
      if (!instance) return;
      instances.delete(key);
      await stop(instance);
      instance.metrics.remove();
    },

    statuses() {
      return [...instances.values()].map(statusOf);
    },

    async close() {
      if (closed) return;
      closed = true;
      const all = [...instances.values()];
      instances.clear();
      await Promise.all(all.map((i) => stop(i)));
      await agents.close();
    },
  };
}
