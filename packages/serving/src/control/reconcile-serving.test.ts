import {
  type ContractInput,
  deepEqual,
  loadText,
  resourceKey,
  type ServingContract,
  type ServingRevision,
  type ValueLookupOptions,
} from '@eddy/api';
import { describe, expect, it } from 'vitest';
import type { RevisionRuntimeStatus } from '../plane/serving-plane.js';
import {
  type ReconcileServingInput,
  type ReconcileServingResult,
  reconcileServing,
  type ServingResourceStatus,
} from './reconcile-serving.js';

// ---- helpers: load YAML like `eddy dev`, and a tiny in-memory store that applies `children` the way the
// resource store does (create with generation 1, bump generation when spec changes).

function load(yaml: string): ContractInput[] {
  const r = loadText(yaml, 'test.yaml');
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.resources.map(({ apiVersion, kind, namespace, name, resource }) => ({
    apiVersion,
    kind,
    namespace,
    name,
    resource: { ...resource, metadata: { generation: 1, ...(resource.metadata as object) } },
  }));
}

const keyOf = (r: ContractInput) => resourceKey(r.kind, r.namespace, r.name);
type Obj = { metadata: { generation?: number; [k: string]: unknown }; spec?: unknown };

class Store {
  readonly map = new Map<string, ContractInput>();
  constructor(resources: ContractInput[] = []) {
    for (const r of resources) this.map.set(keyOf(r), r);
  }
  /** Replaces a user resource (a new spec bumps its generation, as `kubectl apply` would). */
  apply(resources: ContractInput[]): void {
    for (const r of resources) this.upsert(r);
  }
  upsert(r: ContractInput): boolean {
    const before = this.map.get(keyOf(r))?.resource as Obj | undefined;
    const next = structuredClone(r.resource) as Obj;
    if (!before) next.metadata.generation = 1;
    else {
      const sameSpec = deepEqual(before.spec, next.spec);
      const sameMeta = deepEqual({ ...before.metadata, generation: 0 }, { ...next.metadata, generation: 0 });
      if (sameSpec && sameMeta) return false;
      next.metadata.generation = (before.metadata.generation ?? 1) + (sameSpec ? 0 : 1);
    }
    this.map.set(keyOf(r), { ...r, resource: next as Record<string, unknown> });
    return true;
  }
  get resources(): ContractInput[] {
    return [...this.map.values()];
  }
  generation(kind: string, name: string, ns = 'default'): number | undefined {
    return (this.map.get(resourceKey(kind, ns, name))?.resource as Obj | undefined)?.metadata.generation;
  }
  names(kind: string): string[] {
    return this.resources
      .filter((r) => r.kind === kind)
      .map((r) => r.name)
      .sort();
  }
}

type Runtime = Map<string, RevisionRuntimeStatus>;

function runtimeStatus(name: string, patch: Partial<RevisionRuntimeStatus> = {}, ns = 'default') {
  return {
    namespace: ns,
    name,
    desiredReplicas: 1,
    actualReplicas: 1,
    readyReplicas: 0,
    everReady: false,
    conditions: [],
    concurrency: 0,
    rps: 0,
    lag: 0,
    ...patch,
  } satisfies RevisionRuntimeStatus;
}

const readyRuntime = (name: string) => runtimeStatus(name, { everReady: true, readyReplicas: 1 });

const BASE: Omit<ReconcileServingInput, 'resources' | 'runtime'> = {
  routeUrl: (ns, name) => `http://127.0.0.1:9000/${ns}/${name}`,
  tagUrl: (ns, name, tag) => `http://127.0.0.1:9000/${ns}/${name}/tags/${tag}`,
};

/** Reconciles and applies children until nothing changes (what `eddy dev` does on every change). */
function settle(
  store: Store,
  runtime: Runtime = new Map(),
  previous?: ServingContract,
  values?: ValueLookupOptions,
): ReconcileServingResult {
  for (let pass = 0; pass < 10; pass++) {
    const result = reconcileServing({
      ...BASE,
      resources: store.resources,
      runtime,
      ...(previous ? { previous } : {}),
      ...(values ? { values } : {}),
    });
    let changed = false;
    for (const child of result.children) changed = store.upsert(child) || changed;
    if (!changed) return result;
  }
  throw new Error('did not settle in 10 passes');
}

function status(
  result: ReconcileServingResult,
  kind: string,
  name: string,
  ns = 'default',
): ServingResourceStatus {
  const s = result.statuses.get(resourceKey(kind, ns, name));
  expect(s, `status of ${kind} ${ns}/${name}`).toBeDefined();
  return s as ServingResourceStatus;
}

const cond = (s: ServingResourceStatus, type: string) => s.conditions.find((c) => c.type === type);

function contractRevision(result: ReconcileServingResult, name: string): ServingRevision {
  const r = result.contract.revisions.find((x) => x.name === name);
  expect(r, `contract revision ${name}`).toBeDefined();
  return r as ServingRevision;
}

const service = (template: string, extra = '', name = 'hello') => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  labels: {team: web}
spec:
  template:
${template}
${extra}`;

const COMMAND_TEMPLATE = (env = 'v1') => `    metadata:
      labels: {tier: front}
      annotations:
        autoscaling.knative.dev/max-scale: "5"
    spec:
      containers:
        - command: [node, server.js]
          env: [{name: VERSION, value: "${env}"}]`;

// ---- tests

describe('Service -> Configuration + Route -> Revision', () => {
  it('a new Service yields its Configuration and Route, then revision -00001 with Knative labels and owners', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const first = reconcileServing({ ...BASE, resources: store.resources, runtime: new Map() });
    expect(first.children.map((c) => `${c.kind}/${c.name}`)).toEqual(['Configuration/hello', 'Route/hello']);
    const config = first.children[0]?.resource as {
      metadata: Record<string, unknown>;
      spec: { template: unknown };
    };
    expect(config.metadata).toMatchObject({
      labels: { team: 'web', 'serving.knative.dev/service': 'hello' },
      ownerReferences: [
        { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello', controller: true },
      ],
    });
    expect((first.children[1]?.resource as { spec?: unknown } | undefined)?.spec).toEqual({
      traffic: [{ configurationName: 'hello', latestRevision: true, percent: 100 }],
    });
    expect(cond(status(first, 'Service', 'hello'), 'ConfigurationsReady')).toMatchObject({
      status: 'Unknown',
      reason: 'OutOfDate',
    });

    const result = settle(store);
    expect(store.names('Revision')).toEqual(['hello-00001']);
    const rev = store.map.get(resourceKey('Revision', 'default', 'hello-00001'))?.resource as {
      metadata: Record<string, unknown>;
    };
    expect(rev.metadata).toMatchObject({
      labels: {
        tier: 'front',
        'serving.knative.dev/configuration': 'hello',
        'serving.knative.dev/configurationGeneration': '1',
        'serving.knative.dev/service': 'hello',
      },
      annotations: { 'autoscaling.knative.dev/max-scale': '5' },
      ownerReferences: [{ kind: 'Configuration', name: 'hello' }],
    });
    // Revisions are only listed when new.
    expect(result.children.map((c) => c.kind)).toEqual(['Configuration', 'Route']);
  });

  it('a first revision that is not ready yet: everything Unknown, the revision runs (pending), no route yet', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const result = settle(store, new Map([['default/hello-00001', runtimeStatus('hello-00001')]]));
    expect(cond(status(result, 'Revision', 'hello-00001'), 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'Deploying',
      message: 'waiting for a replica to pass its readiness probe',
    });
    expect(status(result, 'Configuration', 'hello')).toMatchObject({
      latestCreatedRevisionName: 'hello-00001',
      conditions: [{ type: 'Ready', status: 'Unknown' }],
    });
    expect(status(result, 'Configuration', 'hello').latestReadyRevisionName).toBeUndefined();
    expect(cond(status(result, 'Route', 'hello'), 'AllTrafficAssigned')).toEqual({
      type: 'AllTrafficAssigned',
      status: 'Unknown',
      reason: 'RevisionMissing',
      message: 'Configuration "hello" is waiting for a Revision to become ready.',
    });
    const svc = status(result, 'Service', 'hello');
    expect(cond(svc, 'Ready')?.status).toBe('Unknown');
    expect(cond(svc, 'RoutesReady')).toMatchObject({ status: 'Unknown', reason: 'RevisionMissing' });
    expect(svc.latestCreatedRevisionName).toBe('hello-00001');
    expect(result.contract.routes).toEqual([]);
    expect(contractRevision(result, 'hello-00001').routed).toBe(true);
  });

  it('once the runtime reports it ready: Ready everywhere, url, traffic, replicas', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const result = settle(store, new Map([['default/hello-00001', readyRuntime('hello-00001')]]));
    expect(status(result, 'Revision', 'hello-00001')).toMatchObject({
      actualReplicas: 1,
      desiredReplicas: 1,
    });
    expect(cond(status(result, 'Revision', 'hello-00001'), 'Active')?.status).toBe('True');
    const svc = status(result, 'Service', 'hello');
    expect(svc).toEqual({
      observedGeneration: 1,
      conditions: [
        { type: 'ConfigurationsReady', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'RoutesReady', status: 'True' },
      ],
      latestCreatedRevisionName: 'hello-00001',
      latestReadyRevisionName: 'hello-00001',
      url: 'http://127.0.0.1:9000/default/hello',
      address: { url: 'http://127.0.0.1:9000/default/hello' },
      traffic: [{ revisionName: 'hello-00001', percent: 100, latestRevision: true }],
    });
    expect(result.contract.routes).toEqual([
      {
        namespace: 'default',
        name: 'hello',
        traffic: [{ revisionName: 'hello-00001', percent: 100, latestRevision: true }],
      },
    ]);
  });
});

describe('revision numbering', () => {
  it('each template change creates the next revision; latestRevision follows the latest READY one', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE('v1'))));
    const runtime: Runtime = new Map([['default/hello-00001', readyRuntime('hello-00001')]]);
    settle(store, runtime);

    store.apply(load(service(COMMAND_TEMPLATE('v2'))));
    let result = settle(store, runtime);
    expect(store.names('Revision')).toEqual(['hello-00001', 'hello-00002']);
    expect(store.generation('Configuration', 'hello')).toBe(2);
    const rev2 = store.map.get(resourceKey('Revision', 'default', 'hello-00002'))?.resource as {
      metadata: { labels: Record<string, string> };
      spec: { containers: { env: unknown }[] };
    };
    expect(rev2.metadata.labels['serving.knative.dev/configurationGeneration']).toBe('2');
    expect(rev2.spec.containers[0]?.env).toEqual([{ name: 'VERSION', value: 'v2' }]);
    // Revision 1 is immutable: still v1.
    expect(contractRevision(result, 'hello-00001').env).toEqual({ VERSION: 'v1' });
    expect(contractRevision(result, 'hello-00002').env).toEqual({ VERSION: 'v2' });

    // -00002 is not ready yet: traffic stays on -00001; both run.
    expect(status(result, 'Service', 'hello')).toMatchObject({
      latestCreatedRevisionName: 'hello-00002',
      latestReadyRevisionName: 'hello-00001',
      traffic: [{ revisionName: 'hello-00001', percent: 100, latestRevision: true }],
    });
    expect(cond(status(result, 'Service', 'hello'), 'RoutesReady')?.status).toBe('True');
    expect(cond(status(result, 'Service', 'hello'), 'ConfigurationsReady')?.status).toBe('Unknown');
    expect(contractRevision(result, 'hello-00002').routed).toBe(true);
    expect(contractRevision(result, 'hello-00001').routed).toBe(true);

    // -00002 becomes ready: the route moves over and -00001 is no longer routed.
    runtime.set('default/hello-00002', readyRuntime('hello-00002'));
    result = settle(store, runtime);
    expect(result.contract.routes[0]?.traffic).toEqual([
      { revisionName: 'hello-00002', percent: 100, latestRevision: true },
    ]);
    expect(contractRevision(result, 'hello-00001').routed).toBe(false);
    expect(cond(status(result, 'Service', 'hello'), 'Ready')?.status).toBe('True');

    store.apply(load(service(COMMAND_TEMPLATE('v3'))));
    settle(store, runtime);
    expect(store.names('Revision')).toEqual(['hello-00001', 'hello-00002', 'hello-00003']);
  });

  it('a change outside the template (traffic, labels of the Service) creates no revision', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const runtime: Runtime = new Map([['default/hello-00001', readyRuntime('hello-00001')]]);
    settle(store, runtime);
    store.apply(
      load(
        service(
          COMMAND_TEMPLATE(),
          `  traffic:
    - latestRevision: true
      percent: 100
    - revisionName: hello-00001
      tag: pinned
      percent: 0`,
        ),
      ),
    );
    expect(store.generation('Service', 'hello')).toBe(2);
    const result = settle(store, runtime);
    expect(store.names('Revision')).toEqual(['hello-00001']);
    expect(store.generation('Configuration', 'hello')).toBe(1);
    expect(store.generation('Route', 'hello')).toBe(2);
    expect(status(result, 'Service', 'hello')).toMatchObject({
      observedGeneration: 2,
      traffic: [
        { revisionName: 'hello-00001', percent: 100, latestRevision: true },
        {
          revisionName: 'hello-00001',
          percent: 0,
          tag: 'pinned',
          latestRevision: false,
          url: 'http://127.0.0.1:9000/default/hello/tags/pinned',
        },
      ],
    });
  });

  it('a Configuration no route points at: its new revision runs until ready, then idles (Knative "pending")', () => {
    const store = new Store(
      load(`apiVersion: serving.knative.dev/v1
kind: Configuration
metadata: {name: worker}
spec:
  template:
    spec:
      containers: [{command: [node, worker.js]}]`),
    );
    const runtime: Runtime = new Map();
    let result = settle(store, runtime);
    expect(store.names('Revision')).toEqual(['worker-00001']);
    expect(contractRevision(result, 'worker-00001')).toMatchObject({ routed: true, configuration: 'worker' });
    expect(contractRevision(result, 'worker-00001').service).toBeUndefined();
    runtime.set('default/worker-00001', readyRuntime('worker-00001'));
    result = settle(store, runtime);
    expect(contractRevision(result, 'worker-00001').routed).toBe(false);
    expect(status(result, 'Configuration', 'worker')).toMatchObject({
      latestReadyRevisionName: 'worker-00001',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
  });

  it('a Configuration whose name is long gets Knative-style shortened revision names', () => {
    const long = 'a'.repeat(60);
    const store = new Store(load(service(COMMAND_TEMPLATE(), '', long)));
    settle(store);
    const [name] = store.names('Revision');
    expect(name).toHaveLength(63);
    expect(name).toMatch(/^a{25}[0-9a-f]{32}-00001$/);
  });
});

describe('bring-your-own revision names', () => {
  const named = (name: string, env = 'v1') =>
    service(`    metadata:
      name: ${name}
    spec:
      containers:
        - command: [node, server.js]
          env: [{name: VERSION, value: "${env}"}]`);

  it('the template name is used as the revision name', () => {
    const store = new Store(load(named('hello-blue')));
    const result = settle(store);
    expect(store.names('Revision')).toEqual(['hello-blue']);
    expect(status(result, 'Configuration', 'hello').latestCreatedRevisionName).toBe('hello-blue');
  });

  it('a name without the configuration prefix is refused with the reason', () => {
    // eddy validate rejects this too; the reconciler still explains it for resources from elsewhere.
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const svc = store.resources[0] as ContractInput;
    const resource = structuredClone(svc.resource) as {
      spec: { template: { metadata: Record<string, unknown> } };
    };
    resource.spec.template.metadata.name = 'blue';
    store.apply([{ ...svc, resource }]);
    const result = settle(store);
    expect(store.names('Revision')).toEqual([]);
    expect(cond(status(result, 'Configuration', 'hello'), 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'RevisionFailed',
      message:
        'Revision creation failed with message: spec.template.metadata.name "blue" must have prefix "hello-".',
    });
    expect(cond(status(result, 'Service', 'hello'), 'ConfigurationsReady')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
    });
  });

  it('changing the template but keeping the name is refused (revisions are immutable)', () => {
    const store = new Store(load(named('hello-blue', 'v1')));
    settle(store);
    store.apply(load(named('hello-blue', 'v2')));
    const result = settle(store);
    expect(store.names('Revision')).toEqual(['hello-blue']);
    expect(cond(status(result, 'Configuration', 'hello'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
      message: expect.stringContaining(
        'Revision "hello-blue" already exists with a different template (from generation 1)',
      ),
    });
    // The revision keeps its original content.
    expect(contractRevision(result, 'hello-blue').env).toEqual({ VERSION: 'v1' });
  });
});

describe('traffic', () => {
  const runtime = (): Runtime =>
    new Map([
      ['default/hello-00001', readyRuntime('hello-00001')],
      ['default/hello-00002', readyRuntime('hello-00002')],
    ]);

  /** A Service with two ready revisions, then `traffic` applied. */
  function twoRevisions(traffic: string) {
    const store = new Store(load(service(COMMAND_TEMPLATE('v1'))));
    const rt = runtime();
    settle(store, rt);
    store.apply(load(service(COMMAND_TEMPLATE('v2'))));
    settle(store, rt);
    store.apply(load(service(COMMAND_TEMPLATE('v2'), traffic)));
    return { store, result: settle(store, rt), rt };
  }

  it('a 90/10 split with tags: tag urls and both revisions routed', () => {
    const { result } = twoRevisions(`  traffic:
    - revisionName: hello-00001
      percent: 90
      tag: stable
    - latestRevision: true
      percent: 10
      tag: candidate`);
    expect(result.contract.routes).toEqual([
      {
        namespace: 'default',
        name: 'hello',
        traffic: [
          { revisionName: 'hello-00001', percent: 90, tag: 'stable', latestRevision: false },
          { revisionName: 'hello-00002', percent: 10, tag: 'candidate', latestRevision: true },
        ],
      },
    ]);
    expect(status(result, 'Route', 'hello').traffic).toEqual([
      {
        revisionName: 'hello-00001',
        percent: 90,
        tag: 'stable',
        latestRevision: false,
        url: 'http://127.0.0.1:9000/default/hello/tags/stable',
      },
      {
        revisionName: 'hello-00002',
        percent: 10,
        tag: 'candidate',
        latestRevision: true,
        url: 'http://127.0.0.1:9000/default/hello/tags/candidate',
      },
    ]);
    expect(contractRevision(result, 'hello-00001').routed).toBe(true);
    expect(contractRevision(result, 'hello-00002').routed).toBe(true);
  });

  it('rollback: pointing all traffic at an old revision; the newer one is no longer routed', () => {
    const { result } = twoRevisions(`  traffic:
    - revisionName: hello-00001
      percent: 100`);
    expect(result.contract.routes[0]?.traffic).toEqual([
      { revisionName: 'hello-00001', percent: 100, latestRevision: false },
    ]);
    expect(contractRevision(result, 'hello-00001').routed).toBe(true);
    expect(contractRevision(result, 'hello-00002').routed).toBe(false);
    expect(cond(status(result, 'Service', 'hello'), 'Ready')?.status).toBe('True');
  });

  it('a tag-only target (0%) keeps its revision routed', () => {
    const { result } = twoRevisions(`  traffic:
    - latestRevision: true
      percent: 100
    - revisionName: hello-00001
      percent: 0
      tag: old`);
    expect(contractRevision(result, 'hello-00001').routed).toBe(true);
  });

  it('a pinned revision that is not ready: the route keeps serving its previous traffic, Unknown', () => {
    const { store, rt, result: before } = twoRevisions('');
    rt.set('default/hello-00002', runtimeStatus('hello-00002'));
    rt.set('default/hello-00001', readyRuntime('hello-00001'));
    // hello-00002 lost its readiness history (e.g. a new runtime) and is pinned now.
    store.apply(
      load(
        service(
          COMMAND_TEMPLATE('v2'),
          `  traffic:
    - revisionName: hello-00002
      percent: 100`,
        ),
      ),
    );
    const result = settle(store, rt, before.contract);
    expect(cond(status(result, 'Route', 'hello'), 'AllTrafficAssigned')).toEqual({
      type: 'AllTrafficAssigned',
      status: 'Unknown',
      reason: 'RevisionMissing',
      message: 'Revision "hello-00002" is not yet ready.',
    });
    expect(result.contract.routes[0]?.traffic).toEqual(before.contract.routes[0]?.traffic);
    // It is asked for, so it runs (and can become ready).
    expect(contractRevision(result, 'hello-00002').routed).toBe(true);
  });

  it('targets that do not exist, percents that do not add up', () => {
    const store = new Store(
      load(`apiVersion: serving.knative.dev/v1
kind: Route
metadata: {name: front}
spec:
  traffic:
    - configurationName: nowhere
      percent: 100
---
apiVersion: serving.knative.dev/v1
kind: Route
metadata: {name: gone}
spec:
  traffic:
    - revisionName: gone-00007
      percent: 100`),
    );
    const bad = structuredClone(store.resources[0]) as ContractInput;
    bad.name = 'bad';
    (bad.resource as { metadata: { name: string }; spec: unknown }).metadata.name = 'bad';
    (bad.resource as { spec: unknown }).spec = {
      traffic: [
        { configurationName: 'x', percent: 60, tag: 'a' },
        { configurationName: 'x', percent: 30, tag: 'a' },
      ],
    };
    store.apply([bad]);
    const result = settle(store);
    expect(cond(status(result, 'Route', 'front'), 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ConfigurationMissing',
      message: 'Configuration "nowhere" referenced in traffic not found.',
    });
    expect(cond(status(result, 'Route', 'gone'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Revision "gone-00007" referenced in traffic not found.',
    });
    expect(cond(status(result, 'Route', 'bad'), 'AllTrafficAssigned')).toEqual({
      type: 'AllTrafficAssigned',
      status: 'False',
      reason: 'InvalidTraffic',
      message:
        'spec.traffic: traffic percents sum to 90, expected 100; spec.traffic[1].tag: duplicate tag "a" (also traffic[0].tag)',
    });
    expect(result.contract.routes).toEqual([]);
  });
});

describe('revisions that fail or cannot run', () => {
  it('a crashing first revision: RevisionFailed with the runtime reason and its last log lines', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const failure = {
      reason: 'ExitCode1',
      message: 'process exited with code 1 before becoming ready',
      lastLogLines: ['starting', 'Error: Cannot find module server.js'],
      exitCode: 1,
    };
    const runtime: Runtime = new Map([
      [
        'default/hello-00001',
        runtimeStatus('hello-00001', {
          failure,
          desiredReplicas: 1,
          actualReplicas: 0,
          conditions: [
            { type: 'ResourcesAvailable', status: 'False', reason: 'ExitCode1', message: 'crashing' },
          ],
        }),
      ],
    ]);
    const result = settle(store, runtime);
    const expectedMessage =
      'process exited with code 1 before becoming ready; last log lines:\nstarting\nError: Cannot find module server.js';
    const rev = status(result, 'Revision', 'hello-00001');
    expect(cond(rev, 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ExitCode1',
      message: expectedMessage,
    });
    expect(cond(rev, 'ContainerHealthy')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(cond(rev, 'ResourcesAvailable')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(rev).toMatchObject({ actualReplicas: 0, desiredReplicas: 1 });
    expect(cond(status(result, 'Configuration', 'hello'), 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'RevisionFailed',
      message: `Revision "hello-00001" failed with message: ${expectedMessage}.`,
    });
    expect(cond(status(result, 'Route', 'hello'), 'AllTrafficAssigned')).toEqual({
      type: 'AllTrafficAssigned',
      status: 'False',
      reason: 'RevisionMissing',
      message: 'Configuration "hello" does not have any ready Revision.',
    });
    const svc = status(result, 'Service', 'hello');
    expect(cond(svc, 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(cond(svc, 'Ready')?.message).toContain('Error: Cannot find module server.js');
  });

  it('a template without a command: CommandRequired, not in the contract', () => {
    const store = new Store(
      load(
        service(`    spec:
      containers:
        - image: ghcr.io/example/hello:1`),
      ),
    );
    const result = settle(store);
    expect(cond(status(result, 'Revision', 'hello-00001'), 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'CommandRequired',
      message:
        'spec.containers[0].command is required in embedded mode; image-only services (image "ghcr.io/example/hello:1") need Kubernetes mode',
    });
    expect(result.contract.revisions).toEqual([]);
    expect(cond(status(result, 'Service', 'hello'), 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RevisionFailed',
    });
  });

  describe('env valueFrom', () => {
    const withEnv = (env: string) =>
      new Store(
        load(
          service(`    spec:
      containers:
        - command: [node, server.js]
          env:
            - {name: MODE, value: fast}
${env}`),
        ),
      );
    const PASSWORD = `            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}`;
    const values = (secrets: Record<string, string>, config: Record<string, string> = {}) => ({
      secret: (ns: string, name: string) =>
        ns === 'default' && name === 'db'
          ? new Map(Object.entries(secrets).map(([k, v]) => [k, Buffer.from(v)]))
          : undefined,
      configMap: (ns: string, name: string) =>
        ns === 'default' && name === 'settings'
          ? new Map(Object.entries(config).map(([k, v]) => [k, Buffer.from(v)]))
          : undefined,
    });

    it('a missing Secret key: CreateContainerConfigError naming the Secret, the key and both places looked in', () => {
      const result = settle(withEnv(PASSWORD), new Map(), undefined, {
        env: {},
        store: values({ user: 'u' }),
      });
      expect(cond(status(result, 'Revision', 'hello-00001'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'CreateContainerConfigError',
        message:
          'spec.containers[0].env[1] ("PASSWORD"): secret default/db key password not found (looked for environment variable EDDY_SECRET_DB_PASSWORD, then Secret default/db, whose keys are user)',
      });
      expect(result.contract.revisions).toEqual([]);
    });

    it('resolves secretKeyRef and configMapKeyRef from the manifests; the environment wins over a Secret', () => {
      const store = withEnv(`${PASSWORD}
            - name: LEVEL
              valueFrom: {configMapKeyRef: {name: settings, key: level}}
            - name: OPTIONAL
              valueFrom: {configMapKeyRef: {name: settings, key: nope, optional: true}}`);
      const manifests = values({ password: 'from-secret' }, { level: 'debug' });
      const fromManifests = settle(store, new Map(), undefined, { env: {}, store: manifests });
      expect(fromManifests.contract.revisions[0]?.env).toEqual({
        MODE: 'fast',
        PASSWORD: 'from-secret',
        LEVEL: 'debug',
      });
      const envWins = settle(store, new Map(), undefined, {
        env: { EDDY_SECRET_DB_PASSWORD: 'from-env' },
        store: manifests,
      });
      expect(envWins.contract.revisions[0]?.env.PASSWORD).toBe('from-env');
    });

    it('a field reference: UnsupportedEnvValueFrom naming the variable', () => {
      const result = settle(
        withEnv(`            - name: POD
              valueFrom: {fieldRef: {fieldPath: metadata.name}}`),
      );
      expect(cond(status(result, 'Revision', 'hello-00001'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'UnsupportedEnvValueFrom',
        message: expect.stringContaining(
          'spec.containers[0].env[1] ("POD"): valueFrom supports secretKeyRef',
        ),
      });
    });
  });

  it('a Configuration with the Service name that the Service does not own is reported, not overwritten', () => {
    const store = new Store(
      load(`${service(COMMAND_TEMPLATE())}
---
apiVersion: serving.knative.dev/v1
kind: Configuration
metadata: {name: hello}
spec:
  template:
    spec:
      containers: [{command: [python, app.py]}]`),
    );
    const result = settle(store);
    expect(result.children.map((c) => c.kind)).toEqual(['Route']);
    expect(cond(status(result, 'Service', 'hello'), 'ConfigurationsReady')).toEqual({
      type: 'ConfigurationsReady',
      status: 'False',
      reason: 'NotOwned',
      message: 'There is an existing Configuration "hello" that we do not own.',
    });
  });
});

describe('the serving contract', () => {
  it('resolves command, env, probe, timeouts and scaling of a revision', () => {
    const store = new Store(
      load(
        service(`    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/target: "20"
        autoscaling.eddy.dev/lag-target: "50"
    spec:
      containerConcurrency: 10
      timeoutSeconds: 60
      responseStartTimeoutSeconds: 5
      terminationGracePeriodSeconds: 12
      containers:
        - command: [node]
          args: [server.js, --quiet]
          workingDir: /srv/app
          env: [{name: MODE, value: fast}, {name: EMPTY}]
          ports: [{containerPort: 8080, name: http1}]
          readinessProbe:
            httpGet: {path: /healthz, port: http1, httpHeaders: [{name: X-Probe, value: "1"}]}
            periodSeconds: 2
            failureThreshold: 5`),
      ),
    );
    const result = settle(store);
    expect(contractRevision(result, 'hello-00001')).toEqual({
      namespace: 'default',
      name: 'hello-00001',
      configuration: 'hello',
      service: 'hello',
      configurationGeneration: 1,
      command: ['node'],
      args: ['server.js', '--quiet'],
      env: { MODE: 'fast', EMPTY: '' },
      workingDir: '/srv/app',
      readiness: {
        kind: 'http',
        path: '/healthz',
        headers: { 'X-Probe': '1' },
        initialDelayMs: 0,
        periodMs: 2000,
        timeoutMs: 1000,
        failureThreshold: 5,
        successThreshold: 1,
      },
      containerConcurrency: 10,
      timeoutMs: 60_000,
      responseStartTimeoutMs: 5000,
      terminationGraceMs: 12_000,
      scaling: expect.objectContaining({ minScale: 1, target: 10, lagTarget: 50, backlog: true }),
      routed: true,
      backlog: [],
    });
  });

  it('defaults: TCP readiness on the port, 300 s timeout, 30 s grace, Knative scaling defaults', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const rev = contractRevision(settle(store), 'hello-00001');
    expect(rev.readiness).toEqual({
      kind: 'tcp',
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      failureThreshold: 3,
      successThreshold: 1,
    });
    expect(rev).toMatchObject({ timeoutMs: 300_000, terminationGraceMs: 30_000, containerConcurrency: 0 });
    expect(rev.scaling).toMatchObject({ target: 100, maxScale: 5, scaleToZeroGraceMs: 30_000 });
    expect(rev.responseStartTimeoutMs).toBeUndefined();
  });

  it('the platform grace period reaches every revision', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    settle(store);
    const result = reconcileServing({
      ...BASE,
      resources: store.resources,
      runtime: new Map(),
      scaleToZeroGraceMs: 5000,
    });
    expect(contractRevision(result, 'hello-00001').scaling.scaleToZeroGraceMs).toBe(5000);
  });

  it('the generation moves only when the content changes', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    const runtime: Runtime = new Map([['default/hello-00001', runtimeStatus('hello-00001')]]);
    const a = settle(store, runtime);
    expect(a.contract.generation).toBe(1);
    const again = reconcileServing({ ...BASE, resources: store.resources, runtime, previous: a.contract });
    expect(again.contract.generation).toBe(1);
    // Runtime numbers that do not change the contract (replicas, rps) leave it alone.
    runtime.set('default/hello-00001', runtimeStatus('hello-00001', { actualReplicas: 3, rps: 40 }));
    const b = reconcileServing({ ...BASE, resources: store.resources, runtime, previous: a.contract });
    expect(b.contract.generation).toBe(1);
    // Ready -> the route appears: a new generation.
    runtime.set('default/hello-00001', readyRuntime('hello-00001'));
    const c = reconcileServing({ ...BASE, resources: store.resources, runtime, previous: b.contract });
    expect(c.contract.generation).toBe(2);
    expect(c.contract.routes).toHaveLength(1);
    // A previous contract read back from JSON compares equal.
    const d = reconcileServing({
      ...BASE,
      resources: store.resources,
      runtime,
      previous: JSON.parse(JSON.stringify(c.contract)) as ServingContract,
    });
    expect(d.contract.generation).toBe(2);
  });

  it('after a restart a revision whose stored status is Ready stays ready with no runtime status', () => {
    const store = new Store(load(service(COMMAND_TEMPLATE())));
    settle(store, new Map([['default/hello-00001', readyRuntime('hello-00001')]]));
    const rev = store.map.get(resourceKey('Revision', 'default', 'hello-00001')) as ContractInput;
    store.map.set(keyOf(rev), {
      ...rev,
      resource: {
        ...rev.resource,
        status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] },
      },
    });
    const result = settle(store, new Map());
    expect(result.contract.routes[0]?.traffic).toEqual([
      { revisionName: 'hello-00001', percent: 100, latestRevision: true },
    ]);
    expect(cond(status(result, 'Revision', 'hello-00001'), 'Active')).toMatchObject({
      status: 'False',
      reason: 'NoTraffic',
    });
  });
});
