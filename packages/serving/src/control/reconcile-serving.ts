// The serving control plane as one pure function (like computeContract for eventing): Service,
// Configuration, Route and Revision resources plus the runtime's per-revision status in; the child
// resources to create or update (a Service's Configuration and Route, new Revisions), the
// ServingContract and every resource's Knative-style status out.

import {
  applyDefaults,
  byNamespaceThenName,
  type Condition,
  ConditionSet,
  type Configuration,
  type ContractInput,
  collectEntries,
  deepEqual,
  defaultRevisionSpec,
  type EntryMetadata,
  namespacedKey,
  type ResourceEntry,
  type ResourceStatus,
  type Revision,
  type RevisionSpec,
  type Route,
  resourceKey,
  type Service,
  type ServingContract,
  type ServingRevision,
  type ServingRoute,
  type ServingTrafficTarget,
  type TrafficTarget,
  type ValueLookupOptions,
} from '@eddy/api';
import type { RevisionRuntimeStatus } from '../plane/serving-plane.js';
import type { DeploymentFailure } from '../runtime/runtime.js';
import {
  byoNameProblem,
  CONFIGURATION_GENERATION_LABEL,
  CONFIGURATION_LABEL,
  generatedRevisionName,
  SERVICE_LABEL,
  SERVING_API_VERSION,
  SERVING_GROUP,
} from './revision-names.js';
import { revisionWorkload, type WorkloadResult, type WorkloadTarget } from './revision-workload.js';
import type { ScalingPlatform } from './scaling-settings.js';
import {
  type ConfigurationView,
  type DesiredTarget,
  desiredTargets,
  type RevisionView,
  resolveTraffic,
  trafficSpecProblem,
} from './traffic.js';

export interface ReconcileServingInput {
  /** Every serving.knative.dev resource in the store, including Revisions created earlier. */
  resources: ContractInput[];
  /** From the serving data plane; by `<namespace>/<revision>`. */
  runtime: ReadonlyMap<string, RevisionRuntimeStatus>;
  /** Addresses (the router's). */
  routeUrl(namespace: string, name: string): string;
  tagUrl(namespace: string, name: string, tag: string): string;
  previous?: ServingContract;
  /** Platform default for scale-to-zero-grace-period; default 30 000. */
  scaleToZeroGraceMs?: number;
  /** Other platform autoscaler settings (max scale up/down rates, allow-zero-initial-scale). */
  scalingPlatform?: ScalingPlatform;
  /**
   * Where env `valueFrom.secretKeyRef` / `configMapKeyRef` values come from (EDDY_SECRET_* variables, then
   * Secret and ConfigMap manifests); default process.env and no manifests.
   */
  values?: ValueLookupOptions;
  /** Where revisions run (what their contract entries carry); default `process`. */
  workloadTarget?: WorkloadTarget;
}

/** Knative's Service/Route/Revision status fields on top of the common ones. */
export interface ServingResourceStatus extends ResourceStatus {
  url?: string;
  latestReadyRevisionName?: string;
  latestCreatedRevisionName?: string;
  traffic?: { revisionName: string; percent: number; tag?: string; latestRevision: boolean; url?: string }[];
  actualReplicas?: number;
  desiredReplicas?: number;
}

export interface ReconcileServingResult {
  /**
   * Child resources that should exist, as full objects with `metadata.ownerReferences` and the label
   * `serving.knative.dev/service|configuration`: a Service's Configuration and Route, and new Revisions.
   * The store upserts them (bumping metadata.generation when spec changes) and deletes owned children no
   * longer listed, except Revisions (immutable history; garbage-collected by the store's own policy).
   */
  children: ContractInput[];
  contract: ServingContract;
  /** By resourceKey(kind, namespace, name). */
  statuses: Map<string, ServingResourceStatus>;
}

// ---------------------------------------------------------------------------------------------------
// Implementation. Pure: no I/O, no clock. One pass turns what exists into what should exist next, so a
// new Service takes a few passes to settle (Service -> Configuration and Route; Configuration ->
// Revision; runtime status -> Ready), exactly like Knative's reconcilers; the caller recomputes
// whenever the store or the runtime changes.

interface RevisionState {
  entry: ResourceEntry<Partial<Revision>>;
  configuration: string;
  configurationGeneration: number;
  service?: string;
  workload: WorkloadResult;
  runtime?: RevisionRuntimeStatus;
  ready: boolean;
  failed: boolean;
  status: ServingResourceStatus;
}

interface ConfigurationState {
  entry: ResourceEntry<Partial<Configuration>>;
  latestCreated?: string;
  creationProblem?: string;
  latestReady?: string;
  failed: boolean;
  status: ServingResourceStatus;
}

/** Where a Service's child stands. */
type ChildState = 'missing' | 'notOwned' | 'stale' | 'current';

const KUBECTL_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const show = (v: unknown) => JSON.stringify(v);

function ownerReference(kind: string, name: string) {
  return { apiVersion: SERVING_API_VERSION, kind, name, controller: true, blockOwnerDeletion: true };
}

function ownedBy(meta: EntryMetadata, kind: string, name: string): boolean {
  return (
    Array.isArray(meta.ownerReferences) &&
    meta.ownerReferences.some((r) => {
      const ref = r as { kind?: unknown; name?: unknown } | null;
      return ref?.kind === kind && ref.name === name;
    })
  );
}

/** A spec after Knative defaulting, so a stored child and a freshly built one compare equal. */
function normalizedSpec(kind: string, namespace: string, name: string, spec: unknown): unknown {
  const o = structuredClone({ apiVersion: SERVING_API_VERSION, kind, metadata: { name, namespace }, spec });
  const s = o.spec as { template?: { spec?: unknown }; traffic?: unknown } | undefined;
  const defaultable =
    kind === 'Configuration' ? s?.template?.spec !== undefined : kind === 'Route' ? s !== undefined : false;
  if (defaultable) applyDefaults(o);
  return o.spec;
}

function normalizedRevisionSpec(spec: RevisionSpec | undefined): unknown {
  if (!spec) return spec;
  const copy = structuredClone(spec);
  defaultRevisionSpec(copy);
  return copy;
}

function copiedAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!a) return undefined;
  const out = { ...a };
  delete out[KUBECTL_LAST_APPLIED];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A Service's Route traffic: the Service's, or 100% to the latest ready revision; targets without a revision name follow the Service's Configuration. */
function serviceRouteTraffic(service: ResourceEntry<Partial<Service>>): TrafficTarget[] {
  const traffic = service.resource.spec?.traffic;
  const given: TrafficTarget[] =
    traffic && traffic.length > 0 ? traffic : [{ latestRevision: true, percent: 100 }];
  return given.map((t) => {
    const out: TrafficTarget = {};
    if (t.tag !== undefined) out.tag = t.tag;
    if (t.revisionName) out.revisionName = t.revisionName;
    else out.configurationName = service.name;
    if (t.latestRevision !== undefined) out.latestRevision = t.latestRevision;
    if (t.percent !== undefined) out.percent = t.percent;
    return out;
  });
}

function serviceChild(
  service: ResourceEntry<Partial<Service>>,
  kind: 'Configuration' | 'Route',
  spec: Record<string, unknown>,
): ContractInput {
  const annotations = copiedAnnotations(service.metadata.annotations);
  return {
    apiVersion: SERVING_API_VERSION,
    kind,
    namespace: service.namespace,
    name: service.name,
    resource: {
      apiVersion: SERVING_API_VERSION,
      kind,
      metadata: {
        name: service.name,
        namespace: service.namespace,
        labels: { ...service.metadata.labels, [SERVICE_LABEL]: service.name },
        ...(annotations ? { annotations } : {}),
        ownerReferences: [ownerReference('Service', service.name)],
      },
      spec,
    },
  };
}

function revisionChild(
  config: ResourceEntry<Partial<Configuration>>,
  name: string,
  template: NonNullable<Configuration['spec']>['template'],
): ContractInput {
  const service = config.metadata.labels?.[SERVICE_LABEL];
  const annotations = template.metadata?.annotations;
  return {
    apiVersion: SERVING_API_VERSION,
    kind: 'Revision',
    namespace: config.namespace,
    name,
    resource: {
      apiVersion: SERVING_API_VERSION,
      kind: 'Revision',
      metadata: {
        name,
        namespace: config.namespace,
        labels: {
          ...template.metadata?.labels,
          [CONFIGURATION_LABEL]: config.name,
          [CONFIGURATION_GENERATION_LABEL]: String(config.generation),
          ...(service ? { [SERVICE_LABEL]: service } : {}),
        },
        ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
        ownerReferences: [ownerReference('Configuration', config.name)],
      },
      spec: structuredClone(template.spec),
    },
  };
}

function revisionConfiguration(entry: ResourceEntry<Partial<Revision>>): string {
  const label = entry.metadata.labels?.[CONFIGURATION_LABEL];
  if (label) return label;
  const owner = entry.metadata.ownerReferences?.find(
    (r) => (r as { kind?: unknown } | null)?.kind === 'Configuration',
  ) as { name?: unknown } | undefined;
  return typeof owner?.name === 'string' ? owner.name : entry.name;
}

function ownsRevision(entry: ResourceEntry<Partial<Revision>>, configuration: string): boolean {
  return (
    ownedBy(entry.metadata, 'Configuration', configuration) ||
    entry.metadata.labels?.[CONFIGURATION_LABEL] === configuration
  );
}

function storedReady(entry: ResourceEntry<unknown>): boolean {
  const s = entry.status as { observedGeneration?: number; conditions?: Condition[] } | undefined;
  if (!s || !Array.isArray(s.conditions)) return false;
  if (s.observedGeneration !== undefined && s.observedGeneration !== entry.generation) return false;
  return s.conditions.some((c) => c?.type === 'Ready' && c.status === 'True');
}

function failureMessage(f: DeploymentFailure): string {
  const lines = f.lastLogLines.slice(-20);
  return lines.length > 0 ? `${f.message}; last log lines:\n${lines.join('\n')}` : f.message;
}

function runtimeCondition(rt: RevisionRuntimeStatus | undefined, type: string): Condition | undefined {
  return rt?.conditions.find((c) => c.type === type);
}

/** Copies a runtime condition; `fallback` explains a non-True one that carries no message. */
function markFrom(set: ConditionSet, c: Condition, fallback: string): void {
  if (c.status === 'True') set.markTrue(c.type, c.reason, c.message);
  else if (c.status === 'False') set.markFalse(c.type, c.reason ?? 'Failed', c.message || fallback);
  else set.markUnknown(c.type, c.reason ?? 'Deploying', c.message || fallback);
}

/**
 * A Revision's state: runnable or not, ready once the runtime has seen a replica pass readiness (or the
 * stored status says so, e.g. after a restart) and no failure, and its Knative conditions.
 */
function revisionState(
  entry: ResourceEntry<Partial<Revision>>,
  runtime: ReadonlyMap<string, RevisionRuntimeStatus>,
  platform: ScalingPlatform,
  values: ValueLookupOptions,
  target: WorkloadTarget,
): RevisionState {
  const labels = entry.metadata.labels ?? {};
  const generationLabel = Number(labels[CONFIGURATION_GENERATION_LABEL]);
  const workload = revisionWorkload(entry.resource.spec, entry.metadata.annotations, platform, {
    namespace: entry.namespace,
    values,
    target,
  });
  const rt = runtime.get(namespacedKey(entry.namespace, entry.name));
  const failed = !workload.ok || rt?.failure !== undefined;
  const ready = !failed && (rt?.everReady === true || storedReady(entry));

  // ContainerHealthy first: its reason (ExitCode1, CommandRequired, ...) is the one Ready should carry.
  const set = new ConditionSet(['ContainerHealthy', 'ResourcesAvailable']);
  if (!workload.ok) {
    set.markFalse('ContainerHealthy', workload.reason, workload.message);
    set.markFalse(
      'ResourcesAvailable',
      workload.reason,
      'not deployed: the revision cannot run in embedded mode',
    );
  } else {
    const waiting = rt
      ? rt.desiredReplicas > 0
        ? 'waiting for a replica to pass its readiness probe'
        : 'no replica requested yet'
      : 'waiting for the serving data plane to deploy the revision';
    if (rt?.failure) set.markFalse('ContainerHealthy', rt.failure.reason, failureMessage(rt.failure));
    else if (ready) set.markTrue('ContainerHealthy');
    else set.markUnknown('ContainerHealthy', 'Deploying', waiting);
    const resources = runtimeCondition(rt, 'ResourcesAvailable');
    if (ready) set.markTrue('ResourcesAvailable');
    else if (resources) markFrom(set, resources, waiting);
    else set.markUnknown('ResourcesAvailable', 'Deploying', waiting);
    const active = runtimeCondition(rt, 'Active');
    if (active) markFrom(set, active, waiting);
    else if (rt && rt.readyReplicas > 0) set.markTrue('Active');
    else if (ready) set.markFalse('Active', 'NoTraffic', 'The target is not receiving traffic.');
    else set.markUnknown('Active', 'Deploying', waiting);
  }
  const status: ServingResourceStatus = {
    observedGeneration: entry.generation,
    conditions: set.conditions(),
  };
  if (rt) {
    status.actualReplicas = rt.actualReplicas;
    status.desiredReplicas = rt.desiredReplicas;
  }
  const service = labels[SERVICE_LABEL];
  return {
    entry,
    configuration: revisionConfiguration(entry),
    configurationGeneration:
      Number.isSafeInteger(generationLabel) && generationLabel > 0 ? generationLabel : entry.generation,
    ...(service ? { service } : {}),
    workload,
    ...(rt ? { runtime: rt } : {}),
    ready,
    failed,
    status,
  };
}

const readyOf = (status: ResourceStatus) => status.conditions.find((c) => c.type === 'Ready');

export function reconcileServing(input: ReconcileServingInput): ReconcileServingResult {
  const platform: ScalingPlatform = {
    ...input.scalingPlatform,
    ...(input.scaleToZeroGraceMs !== undefined ? { scaleToZeroGraceMs: input.scaleToZeroGraceMs } : {}),
  };
  const statuses = new Map<string, ServingResourceStatus>();
  const children: ContractInput[] = [];

  const services = collectEntries<Partial<Service>>(input.resources, SERVING_GROUP, 'Service');
  const configurations = collectEntries<Partial<Configuration>>(
    input.resources,
    SERVING_GROUP,
    'Configuration',
  );
  const routes = collectEntries<Partial<Route>>(input.resources, SERVING_GROUP, 'Route');
  const revisions = collectEntries<Partial<Revision>>(input.resources, SERVING_GROUP, 'Revision');

  // Services -> their Configuration and Route (always listed, so the store keeps them in step).
  const serviceChildren = new Map<string, Record<'Configuration' | 'Route', ChildState>>();
  for (const [key, svc] of services) {
    const state: Record<'Configuration' | 'Route', ChildState> = {
      Configuration: 'missing',
      Route: 'missing',
    };
    const template = svc.resource.spec?.template;
    const wanted: [
      kind: 'Configuration' | 'Route',
      spec: Record<string, unknown>,
      stored: ResourceEntry<unknown> | undefined,
    ][] = [
      ['Configuration', { template: structuredClone(template) }, configurations.get(key)],
      ['Route', { traffic: serviceRouteTraffic(svc) }, routes.get(key)],
    ];
    for (const [kind, spec, stored] of wanted) {
      let childState: ChildState = 'missing';
      if (stored && !ownedBy(stored.metadata, 'Service', svc.name)) childState = 'notOwned';
      else {
        children.push(serviceChild(svc, kind, spec));
        if (stored) {
          const same = deepEqual(
            normalizedSpec(kind, svc.namespace, svc.name, (stored.resource as { spec?: unknown }).spec),
            normalizedSpec(kind, svc.namespace, svc.name, spec),
          );
          childState = same ? 'current' : 'stale';
        }
      }
      state[kind] = childState;
    }
    serviceChildren.set(key, state);
  }

  // Configurations -> the Revision of their current generation, when it does not exist yet.
  const configStates = new Map<string, ConfigurationState>();
  for (const [key, cfg] of configurations) {
    const state: ConfigurationState = {
      entry: cfg,
      failed: false,
      status: { observedGeneration: cfg.generation, conditions: [] },
    };
    configStates.set(key, state);
    const template = cfg.resource.spec?.template;
    if (!template?.spec) {
      state.creationProblem = 'spec.template.spec is missing';
      continue;
    }
    const explicit = template.metadata?.name;
    const name = explicit || generatedRevisionName(cfg.name, cfg.generation);
    const byo = explicit ? byoNameProblem(cfg.name, explicit) : undefined;
    if (byo) {
      state.creationProblem = byo;
      continue;
    }
    const existing = revisions.get(namespacedKey(cfg.namespace, name));
    if (!existing) {
      const child = revisionChild(cfg, name, template);
      children.push(child);
      const o = child.resource as { metadata: EntryMetadata };
      revisions.set(namespacedKey(cfg.namespace, name), {
        namespace: cfg.namespace,
        name,
        generation: 1,
        metadata: o.metadata,
        resource: child.resource as Partial<Revision>,
      });
      state.latestCreated = name;
    } else if (!ownsRevision(existing, cfg.name)) {
      state.creationProblem = `Revision ${show(name)} already exists and does not belong to Configuration ${show(cfg.name)}`;
    } else {
      const fromGeneration = Number(existing.metadata.labels?.[CONFIGURATION_GENERATION_LABEL]);
      const sameTemplate = deepEqual(
        normalizedRevisionSpec(existing.resource.spec),
        normalizedRevisionSpec(template.spec),
      );
      if (fromGeneration !== cfg.generation && !sameTemplate)
        state.creationProblem = `Revision ${show(name)} already exists with a different template (from generation ${
          Number.isFinite(fromGeneration) ? fromGeneration : '?'
        }); revisions are immutable, so give spec.template.metadata.name a new name or remove it`;
      else state.latestCreated = name;
    }
  }

  // Revisions (existing and new).
  const revStates = new Map<string, RevisionState>();
  for (const [key, entry] of revisions)
    revStates.set(
      key,
      revisionState(entry, input.runtime, platform, input.values ?? {}, input.workloadTarget ?? 'process'),
    );
  for (const s of revStates.values())
    statuses.set(resourceKey('Revision', s.entry.namespace, s.entry.name), s.status);

  // Configuration status: the latest ready revision is the newest ready one it owns.
  for (const state of configStates.values()) {
    const cfg = state.entry;
    let latestReady: RevisionState | undefined;
    for (const r of revStates.values()) {
      if (r.entry.namespace !== cfg.namespace || r.configuration !== cfg.name || !r.ready) continue;
      if (
        !latestReady ||
        r.configurationGeneration > latestReady.configurationGeneration ||
        (r.configurationGeneration === latestReady.configurationGeneration &&
          r.entry.name > latestReady.entry.name)
      )
        latestReady = r;
    }
    if (latestReady) state.latestReady = latestReady.entry.name;
    const latest = state.latestCreated
      ? revStates.get(namespacedKey(cfg.namespace, state.latestCreated))
      : undefined;
    let ready: Condition;
    if (state.creationProblem)
      ready = {
        type: 'Ready',
        status: 'False',
        reason: 'RevisionFailed',
        message: `Revision creation failed with message: ${state.creationProblem}.`,
      };
    else if (latest?.ready) ready = { type: 'Ready', status: 'True' };
    else if (latest?.failed)
      ready = {
        type: 'Ready',
        status: 'False',
        reason: 'RevisionFailed',
        message: `Revision ${show(latest.entry.name)} failed with message: ${
          readyOf(latest.status)?.message ?? 'the revision failed'
        }.`,
      };
    else
      ready = {
        type: 'Ready',
        status: 'Unknown',
        reason: 'RevisionNotReady',
        message: `Configuration ${show(cfg.name)} is waiting for a Revision to become ready.`,
      };
    state.failed = ready.status === 'False';
    state.status.conditions = [ready];
    if (state.latestCreated) state.status.latestCreatedRevisionName = state.latestCreated;
    if (state.latestReady) state.status.latestReadyRevisionName = state.latestReady;
    statuses.set(resourceKey('Configuration', cfg.namespace, cfg.name), state.status);
  }

  // Routes: resolve traffic; an unresolvable route keeps serving what it served before (Knative keeps the
  // last good traffic in the ingress until the new one is ready).
  const runnable = new Set([...revStates.entries()].filter(([, s]) => s.workload.ok).map(([key]) => key));
  const routed = new Set<string>();
  const servingRoutes: ServingRoute[] = [];
  const routeStatuses = new Map<string, ServingResourceStatus>();
  for (const [key, route] of routes) {
    const ns = route.namespace;
    const targets: DesiredTarget[] = desiredTargets(route.resource.spec?.traffic);
    const set = new ConditionSet(['AllTrafficAssigned']);
    let served: ServingTrafficTarget[] | undefined;
    const specProblem = trafficSpecProblem(targets);
    if (specProblem) set.markFalse('AllTrafficAssigned', 'InvalidTraffic', specProblem);
    else {
      const resolved = resolveTraffic(targets, {
        revision: (name): RevisionView | undefined => {
          const r = revStates.get(namespacedKey(ns, name));
          return r ? { ready: r.ready, failed: r.failed } : undefined;
        },
        configuration: (name): ConfigurationView | undefined => {
          const c = configStates.get(namespacedKey(ns, name));
          return c
            ? { failed: c.failed, ...(c.latestReady ? { latestReadyRevisionName: c.latestReady } : {}) }
            : undefined;
        },
      });
      if (resolved.ok) {
        set.markTrue('AllTrafficAssigned');
        served = resolved.traffic;
      } else if (resolved.problem.status === 'False')
        set.markFalse('AllTrafficAssigned', resolved.problem.reason, resolved.problem.message);
      else set.markUnknown('AllTrafficAssigned', resolved.problem.reason, resolved.problem.message);
    }
    if (!served) {
      const before = input.previous?.routes.find((r) => r.namespace === ns && r.name === route.name);
      if (before?.traffic.every((t) => runnable.has(namespacedKey(ns, t.revisionName))))
        served = before.traffic.map((t) => ({ ...t }));
    }
    // What the route asks for keeps its revisions up, ready or not: a pinned revision or a configuration's
    // newest one must be able to start before it can take the traffic.
    for (const t of targets) {
      if (t.percent <= 0 && t.tag === undefined) continue;
      if (t.revisionName) routed.add(namespacedKey(ns, t.revisionName));
      else if (t.configurationName) {
        const c = configStates.get(namespacedKey(ns, t.configurationName));
        if (c?.latestReady) routed.add(namespacedKey(ns, c.latestReady));
        if (c?.latestCreated) routed.add(namespacedKey(ns, c.latestCreated));
      }
    }
    for (const t of served ?? [])
      if (t.percent > 0 || t.tag !== undefined) routed.add(namespacedKey(ns, t.revisionName));
    const status: ServingResourceStatus = {
      observedGeneration: route.generation,
      conditions: set.conditions(),
      url: input.routeUrl(ns, route.name),
    };
    status.address = { url: status.url as string };
    if (served) {
      servingRoutes.push({ namespace: ns, name: route.name, traffic: served });
      status.traffic = served.map((t) => ({
        revisionName: t.revisionName,
        percent: t.percent,
        ...(t.tag !== undefined ? { tag: t.tag, url: input.tagUrl(ns, route.name, t.tag) } : {}),
        latestRevision: t.latestRevision,
      }));
    }
    routeStatuses.set(key, status);
    statuses.set(resourceKey('Route', ns, route.name), status);
  }
  // A configuration's newest revision that has never been ready is starting up: it runs (initial scale)
  // until it is ready or some route decides it is not wanted (Knative's "pending" routing state).
  for (const c of configStates.values()) {
    if (!c.latestCreated) continue;
    const key = namespacedKey(c.entry.namespace, c.latestCreated);
    const r = revStates.get(key);
    if (r && !r.ready && !r.failed && c.latestReady === undefined) routed.add(key);
  }

  // Services.
  for (const [key, svc] of services) {
    const state = serviceChildren.get(key) ?? { Configuration: 'missing', Route: 'missing' };
    const set = new ConditionSet(['ConfigurationsReady', 'RoutesReady']);
    const status: ServingResourceStatus = { observedGeneration: svc.generation, conditions: [] };
    const config = configStates.get(key);
    const routeStatus = routeStatuses.get(key);
    const child = (kind: 'Configuration' | 'Route', childState: ChildState, ready: Condition | undefined) => {
      const type = kind === 'Configuration' ? 'ConfigurationsReady' : 'RoutesReady';
      if (childState === 'notOwned')
        set.markFalse(type, 'NotOwned', `There is an existing ${kind} ${show(svc.name)} that we do not own.`);
      else if (childState !== 'current')
        set.markUnknown(
          type,
          'OutOfDate',
          `The ${kind} is still working to reflect the latest desired specification.`,
        );
      else set.propagate(type, ready, kind === 'Configuration' ? 'ConfigurationNotReady' : 'RouteNotReady');
    };
    child('Configuration', state.Configuration, config ? readyOf(config.status) : undefined);
    child('Route', state.Route, routeStatus ? readyOf(routeStatus) : undefined);
    if (config && state.Configuration !== 'notOwned') {
      if (config.latestCreated) status.latestCreatedRevisionName = config.latestCreated;
      if (config.latestReady) status.latestReadyRevisionName = config.latestReady;
    }
    if (routeStatus && state.Route !== 'notOwned') {
      if (routeStatus.url) {
        status.url = routeStatus.url;
        status.address = { url: routeStatus.url };
      }
      if (routeStatus.traffic) status.traffic = routeStatus.traffic.map((t) => ({ ...t }));
    }
    status.conditions = set.conditions();
    statuses.set(resourceKey('Service', svc.namespace, svc.name), status);
  }

  // The contract: every runnable revision (history included, at zero unless routed) and every route
  // that has something to serve.
  const contractRevisions: ServingRevision[] = [];
  for (const [key, s] of revStates) {
    if (!s.workload.ok) continue;
    contractRevisions.push({
      namespace: s.entry.namespace,
      name: s.entry.name,
      configuration: s.configuration,
      ...(s.service ? { service: s.service } : {}),
      configurationGeneration: s.configurationGeneration,
      ...s.workload.workload,
      routed: routed.has(key),
      backlog: [],
    });
  }
  contractRevisions.sort(byNamespaceThenName);
  servingRoutes.sort(byNamespaceThenName);
  const content = { revisions: contractRevisions, routes: servingRoutes };
  const previous = input.previous;
  let generation = 1;
  if (previous) {
    const same =
      deepEqual(previous.revisions, content.revisions) && deepEqual(previous.routes, content.routes);
    generation = same ? previous.generation : previous.generation + 1;
  }

  const kindRank: Record<string, number> = { Configuration: 0, Route: 1, Revision: 2 };
  children.sort((a, b) => (kindRank[a.kind] ?? 9) - (kindRank[b.kind] ?? 9) || byNamespaceThenName(a, b));
  return { children, contract: { generation, ...content }, statuses };
}
