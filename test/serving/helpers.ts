// Shared pieces of the serving end-to-end tests. Resources are plain objects as the loader would give
// them; a tiny in-memory store plays the control plane's part: reconcileServing turns the resources
// (and the plane's runtime statuses) into children, a contract and statuses, the store upserts the
// children, and the loop repeats until nothing changes, then the contract goes to the real serving
// data plane (real processes from fixtures/http-service.mjs, a real router on 127.0.0.1).

import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  type BacklogReader,
  type ContractInput,
  type DataPlaneContract,
  namespacedKey,
  readyCondition,
  resourceKey,
  type ServingContract,
  withBacklogRoutes,
} from '@eddy/api';
import {
  createServingDataPlane,
  type ReconcileServingResult,
  reconcileServing,
  type ServingDataPlane,
  type ServingResourceStatus,
} from '@eddy/serving';
import pino from 'pino';
import { request } from 'undici';
import { onTestFinished } from 'vitest';
import { waitFor } from '../harness/wait.ts';

export const quiet = pino({ level: process.env.EDDY_TEST_LOG ?? 'silent' });
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
export { sleep } from '@eddy/runtime';
export { waitFor } from '../harness/wait.ts';

export const fixture = fileURLToPath(new URL('./fixtures/http-service.mjs', import.meta.url));

export interface ServiceOptions {
  /** Template annotations (autoscaling.*). */
  annotations?: Record<string, string>;
  env?: Record<string, string>;
  containerConcurrency?: number;
  traffic?: Record<string, unknown>[];
}

/** A serving.knative.dev/v1 Service running the fixture with `node`. */
export function service(namespace: string, name: string, options: ServiceOptions = {}): ContractInput {
  const container: Record<string, unknown> = {
    image: 'eddy.dev/fixtures/http-service',
    command: [process.execPath],
    args: [fixture],
    env: Object.entries(options.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
    readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1 },
  };
  const spec: Record<string, unknown> = {
    template: {
      metadata: { annotations: options.annotations ?? {} },
      spec: {
        ...(options.containerConcurrency !== undefined
          ? { containerConcurrency: options.containerConcurrency }
          : {}),
        timeoutSeconds: 60,
        containers: [container],
      },
    },
  };
  if (options.traffic) spec.traffic = options.traffic;
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    namespace,
    name,
    resource: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name, namespace, generation: 1 },
      spec,
    },
  };
}

const keyOf = (r: Pick<ContractInput, 'kind' | 'namespace' | 'name'>) =>
  resourceKey(r.kind, r.namespace, r.name);

const specOf = (r: ContractInput) => JSON.stringify(r.resource.spec ?? null);

function withGeneration(r: ContractInput, generation: number): ContractInput {
  const metadata = (r.resource.metadata ?? {}) as Record<string, unknown>;
  return { ...r, resource: { ...r.resource, metadata: { ...metadata, generation } } };
}

function generationOf(r: ContractInput): number {
  const g = (r.resource.metadata as { generation?: unknown } | undefined)?.generation;
  return typeof g === 'number' ? g : 1;
}

function ownedByStore(r: ContractInput): boolean {
  const refs = (r.resource.metadata as { ownerReferences?: unknown[] } | undefined)?.ownerReferences;
  return Array.isArray(refs) && refs.length > 0;
}

export interface ServingHarnessOptions {
  /** Platform scale-to-zero-grace-period; small to keep tests fast. */
  scaleToZeroGraceMs?: number;
  backlog?: BacklogReader;
  maxReplicasCap?: number;
  tickMs?: number;
}

/**
 * The serving control loop of one test: a store of resources, the real serving data plane, and
 * reconcileServing in between. Closed when the test ends.
 */
export class ServingHarness {
  readonly #resources = new Map<string, ContractInput>();
  #previous: ServingContract | undefined;
  #eventing: Pick<DataPlaneContract, 'routes'> | undefined;
  last: ReconcileServingResult | undefined;

  readonly #options: ServingHarnessOptions;

  private constructor(
    readonly plane: ServingDataPlane,
    options: ServingHarnessOptions,
  ) {
    this.#options = options;
  }

  static async start(options: ServingHarnessOptions = {}): Promise<ServingHarness> {
    const plane = await createServingDataPlane({
      logger: quiet,
      tickMs: options.tickMs ?? 500,
      ...(options.backlog ? { backlog: options.backlog } : {}),
      ...(options.maxReplicasCap !== undefined ? { maxReplicasCap: options.maxReplicasCap } : {}),
    });
    onTestFinished(() => plane.close(), 60_000);
    return new ServingHarness(plane, options);
  }

  /** Adds or replaces a user resource (bumping metadata.generation when its spec changed). */
  put(resource: ContractInput): void {
    const old = this.#resources.get(keyOf(resource));
    const generation = old === undefined ? 1 : generationOf(old) + (specOf(old) === specOf(resource) ? 0 : 1);
    this.#resources.set(keyOf(resource), withGeneration(resource, generation));
  }

  get(kind: string, namespace: string, name: string): ContractInput | undefined {
    return this.#resources.get(resourceKey(kind, namespace, name));
  }

  resources(kind?: string): ContractInput[] {
    return [...this.#resources.values()].filter((r) => kind === undefined || r.kind === kind);
  }

  /** The eventing contract whose routes feed services (for every revision's backlog). */
  setEventing(contract: Pick<DataPlaneContract, 'routes'> | undefined): void {
    this.#eventing = contract;
  }

  /** Reconciles until the children are stable, then applies the contract to the plane. */
  async sync(): Promise<ReconcileServingResult> {
    let result: ReconcileServingResult | undefined;
    for (let round = 0; round < 10; round++) {
      result = reconcileServing({
        resources: [...this.#resources.values()],
        runtime: new Map(this.plane.statuses().map((s) => [namespacedKey(s.namespace, s.name), s])),
        routeUrl: (ns, name) => this.plane.routeUrl(ns, name),
        tagUrl: (ns, name, tag) => this.plane.tagUrl(ns, name, tag),
        ...(this.#previous ? { previous: this.#previous } : {}),
        ...(this.#options.scaleToZeroGraceMs !== undefined
          ? { scaleToZeroGraceMs: this.#options.scaleToZeroGraceMs }
          : {}),
      });
      if (!this.#upsertChildren(result.children)) break;
      if (round === 9) throw new Error('reconcileServing did not settle in 10 rounds');
    }
    if (result === undefined) throw new Error('unreachable');
    const contract = this.#eventing ? withBacklogRoutes(result.contract, this.#eventing) : result.contract;
    await this.plane.apply(contract);
    this.#previous = result.contract;
    this.last = result;
    return result;
  }

  /** Store semantics: upsert children (generation bumps on spec change), delete owned non-Revisions not listed. */
  #upsertChildren(children: ContractInput[]): boolean {
    let changed = false;
    const listed = new Set(children.map(keyOf));
    for (const child of children) {
      const old = this.#resources.get(keyOf(child));
      if (old !== undefined && JSON.stringify(old.resource) === JSON.stringify(child.resource)) continue;
      if (old !== undefined && specOf(old) === specOf(child)) {
        // Same spec: keep the generation the store gave it; only labels/owners may have changed.
        const merged = withGeneration(child, generationOf(old));
        if (JSON.stringify(merged.resource) === JSON.stringify(old.resource)) continue;
        this.#resources.set(keyOf(child), merged);
      } else {
        this.#resources.set(
          keyOf(child),
          withGeneration(child, old === undefined ? 1 : generationOf(old) + 1),
        );
      }
      changed = true;
    }
    for (const [key, r] of this.#resources)
      if (ownedByStore(r) && r.kind !== 'Revision' && !listed.has(key)) {
        this.#resources.delete(key);
        changed = true;
      }
    return changed;
  }

  status(kind: string, namespace: string, name: string): ServingResourceStatus | undefined {
    return this.last?.statuses.get(resourceKey(kind, namespace, name));
  }

  /** Syncs every 200 ms (feeding the plane's statuses back) until `check` holds. */
  async waitUntil(what: string, check: (h: ServingHarness) => boolean, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      what,
      async () => {
        await this.sync();
        return check(this);
      },
      {
        timeoutMs,
        describe: () => ({
          runtime: this.plane.statuses().map(brief),
          statuses: [...(this.last?.statuses ?? [])],
        }),
      },
    );
  }

  runtimeStatus(namespace: string, revision: string) {
    return this.plane.statuses().find((s) => s.namespace === namespace && s.name === revision);
  }
}

function brief(s: ReturnType<ServingDataPlane['statuses']>[number]) {
  return {
    name: s.name,
    desired: s.desiredReplicas,
    actual: s.actualReplicas,
    ready: s.readyReplicas,
    everReady: s.everReady,
    lag: s.lag,
    decision:
      s.lastDecision && `${s.lastDecision.desired} ${s.lastDecision.reason}: ${s.lastDecision.detail}`,
    failure: s.failure?.reason,
  };
}

export const isReady = (status: ServingResourceStatus | undefined) =>
  status !== undefined && readyCondition(status)?.status === 'True';

export interface Reply {
  status: number;
  revision: string | undefined;
  pid: string | undefined;
  concurrent: number;
  body: string;
  ms: number;
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const started = Date.now();
  const response = await request(url, { method: 'GET', headers, headersTimeout: 60_000 });
  const body = await response.body.text();
  const h = (name: string) => {
    const v = response.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return {
    status: response.statusCode,
    revision: h('x-revision'),
    pid: h('x-pid'),
    concurrent: Number(h('x-concurrent') ?? Number.NaN),
    body,
    ms: Date.now() - started,
  };
}

/** `count` GETs with at most `parallel` at a time; replies in completion order. */
export async function getMany(url: string, count: number, parallel: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        next++;
        replies.push(await get(url));
      }
    }),
  );
  return replies;
}

export function countBy<T>(
  items: readonly T[],
  key: (item: T) => string | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item) ?? 'undefined';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
