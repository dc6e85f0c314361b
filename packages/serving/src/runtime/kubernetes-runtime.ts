// Where revisions run in Kubernetes mode: each revision is a Deployment (`<revision>-deployment`) and
// a Service (`<revision>`) in its namespace, labelled as Knative labels them, owned by the Revision
// (so deleting the Revision garbage-collects both). The serving plane's autoscaler sets the replica
// count through the Deployment's scale subresource; the replicas the router sends to are the
// revision's Pods (their IPs and the container port), ready when the kubelet says so.
//
// Closing a deployment or the runtime stops managing it and leaves it as it is: `eddy serving` being
// restarted or upgraded must not take the services down, and a Revision that is gone takes its
// Deployment along through its ownerReference.

import { DEFAULT_PROGRESS_DEADLINE_MS } from '@eddy/api';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import type pino from 'pino';
import type {
  DeploymentFailure,
  DeploymentStatus,
  Replica,
  RevisionDeployment,
  WorkloadRuntime,
  WorkloadSpec,
} from './runtime.js';

/** The labels every object this runtime makes carries; its Pod watch selects on the first. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const MANAGED_BY = 'eddy';
const FIELD_MANAGER = 'eddy-serving';
/** Knative's default container port. */
const DEFAULT_PORT = 8080;
/** Container waiting reasons that mean the pod will not start without a change. */
const FAILING_WAITING_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

export const deploymentName = (revision: string) => `${revision}-deployment`;

export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  logger: pino.Logger;
  /** First retry delay of a failed create or scale; doubles to 30 s. Default 500 ms. */
  retryMs?: number;
}

type PodKey = string;
const revisionKey = (namespace: string, revision: string) => `${namespace}/${revision}`;

/** The Knative labels of a revision's objects and Pods. */
function revisionLabels(spec: WorkloadSpec, revisionUid: string | undefined): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    app: spec.revision,
    'serving.knative.dev/revision': spec.revision,
    'serving.knative.dev/configuration': spec.configuration,
    ...(spec.service ? { 'serving.knative.dev/service': spec.service } : {}),
    ...(revisionUid ? { 'serving.knative.dev/revisionUID': revisionUid } : {}),
  };
}

interface ContainerShape {
  name?: string;
  ports?: { containerPort?: number; name?: string; protocol?: string }[];
  env?: { name: string }[];
  readinessProbe?: unknown;
  [field: string]: unknown;
}

/** The container port requests go to: the first container's first port, else Knative's 8080. */
export function userPort(spec: WorkloadSpec): number {
  const containers = (spec.podSpec?.containers ?? []) as ContainerShape[];
  return containers[0]?.ports?.[0]?.containerPort ?? DEFAULT_PORT;
}

/** The Deployment and Service of a revision, as server-side apply bodies. */
export function revisionObjects(
  spec: WorkloadSpec,
  replicas: number,
  owner: { uid: string; apiVersion: string } | undefined,
): { deployment: Record<string, unknown>; service: Record<string, unknown> } {
  if (!spec.podSpec)
    throw new Error(
      `revision ${spec.namespace}/${spec.revision} has no pod spec: the Kubernetes runtime runs contracts built for Kubernetes (eddy controller's)`,
    );
  const labels = revisionLabels(spec, owner?.uid);
  const port = userPort(spec);
  const containers = ((spec.podSpec.containers ?? []) as ContainerShape[]).map((c, i) => {
    if (i > 0) return c;
    // Knative's contract with the container: it listens on $PORT and knows which revision it is.
    const given = new Set((c.env ?? []).map((e) => e.name));
    const added = Object.entries({
      PORT: String(port),
      K_REVISION: spec.revision,
      K_CONFIGURATION: spec.configuration,
      ...(spec.service ? { K_SERVICE: spec.service } : {}),
    })
      .filter(([name]) => !given.has(name))
      .map(([name, value]) => ({ name, value }));
    return {
      ...c,
      name: c.name || 'user-container',
      ports: [{ name: 'user-port', containerPort: port, protocol: 'TCP' }],
      env: [...(c.env ?? []), ...added],
      readinessProbe: c.readinessProbe ?? { tcpSocket: { port }, successThreshold: 1 },
    };
  });
  const metadata = (name: string) => ({
    name,
    namespace: spec.namespace,
    labels,
    ...(owner
      ? {
          ownerReferences: [
            {
              apiVersion: owner.apiVersion,
              kind: 'Revision',
              name: spec.revision,
              uid: owner.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        }
      : {}),
  });
  const selector = { 'serving.knative.dev/revision': spec.revision, [MANAGED_BY_LABEL]: MANAGED_BY };
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(deploymentName(spec.revision)),
      spec: {
        replicas,
        selector: { matchLabels: selector },
        progressDeadlineSeconds: Math.ceil((spec.progressDeadlineMs ?? DEFAULT_PROGRESS_DEADLINE_MS) / 1000),
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
        template: {
          metadata: { labels },
          spec: {
            ...spec.podSpec,
            containers,
            terminationGracePeriodSeconds: Math.ceil(spec.terminationGraceMs / 1000),
          },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(spec.revision),
      spec: {
        selector,
        ports: [{ name: 'http', port: 80, targetPort: port, protocol: 'TCP' }],
      },
    },
  };
}

const isReady = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp &&
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Why a pod's containers cannot run, Knative-style, or undefined. */
export function podFailure(pod: V1Pod): DeploymentFailure | undefined {
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && FAILING_WAITING_REASONS.has(waiting.reason)) {
      const last = c.lastState?.terminated;
      return {
        reason: waiting.reason,
        message: `container ${c.name}: ${waiting.message || waiting.reason}${
          last?.exitCode !== undefined
            ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})`
            : ''
        }`,
        lastLogLines: last?.message ? last.message.split('\n').slice(-20) : [],
        ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
      };
    }
  }
  return undefined;
}

/**
 * The Deployment's own verdict that its rollout stalled (Progressing=False, ProgressDeadlineExceeded),
 * which Knative's Revision reconciler maps to the Revision's ProgressDeadlineExceeded.
 */
export function deploymentProgressFailure(deployment: V1Deployment): DeploymentFailure | undefined {
  const stalled = (deployment.status?.conditions ?? []).find(
    (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
  );
  if (!stalled) return undefined;
  const name = `${deployment.metadata?.namespace ?? ''}/${deployment.metadata?.name ?? ''}`;
  return {
    reason: 'ProgressDeadlineExceeded',
    message: `Deployment ${name} did not progress within its progressDeadlineSeconds (${
      deployment.spec?.progressDeadlineSeconds ?? 600
    }s): ${stalled.message || 'ProgressDeadlineExceeded'}`,
    lastLogLines: [],
  };
}

function statusCode(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown; body?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

function errorText(error: unknown): string {
  const body = (error as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {}
  }
  return (error as Error)?.message ?? String(error);
}

class KubernetesRevisionDeployment implements RevisionDeployment {
  readonly spec: WorkloadSpec;
  readonly #runtime: KubernetesRuntime;
  readonly #listeners = new Set<() => void>();
  readonly #pods = new Map<PodKey, V1Pod>();
  readonly #port: number;
  #desired: number | undefined;
  /** The replica count the API server has (last written or read back). */
  #written: number | undefined;
  #created = false;
  #applyFailure: DeploymentFailure | undefined;
  #progressFailure: DeploymentFailure | undefined;
  #syncing = false;
  #again = false;
  #retryMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(spec: WorkloadSpec, runtime: KubernetesRuntime) {
    this.spec = spec;
    this.#runtime = runtime;
    this.#port = userPort(spec);
    this.#retryMs = runtime.retryMs;
    // Refuse at once what cannot become a Deployment (the plane reports it as the revision's failure).
    revisionObjects(spec, 0, undefined);
    this.#sync();
  }

  scale(replicas: number): void {
    if (this.#closed || replicas === this.#desired) return;
    this.#desired = replicas;
    this.#sync();
  }

  status(): DeploymentStatus {
    const pods = [...this.#pods.values()];
    const failure =
      this.#applyFailure ?? this.#progressFailure ?? pods.map(podFailure).find((f) => f !== undefined);
    return {
      desired: this.#desired ?? this.#written ?? 0,
      actual: pods.filter((p) => !p.metadata?.deletionTimestamp).length,
      ready: pods.filter(isReady).length,
      restarts: pods.reduce(
        (sum, p) => sum + (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
        0,
      ),
      ...(failure && !pods.some(isReady) ? { failure } : {}),
    };
  }

  replicas(): Replica[] {
    const out: Replica[] = [];
    for (const pod of this.#pods.values()) {
      const ip = pod.status?.podIP;
      if (!ip) continue;
      out.push({
        id: `${this.spec.namespace}/${pod.metadata?.name ?? ''}`,
        url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${this.#port}`,
        ready: isReady(pod),
      });
    }
    return out;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#listeners.clear();
    this.#runtime.forget(this);
  }

  /** The revision's Deployment changed (the runtime's shared watch). */
  deploymentChanged(deployment: V1Deployment | undefined): void {
    const failure = deployment ? deploymentProgressFailure(deployment) : undefined;
    if (failure?.message === this.#progressFailure?.message) return;
    this.#progressFailure = failure;
    this.#notify();
  }

  /** A Pod of this revision was added, changed or deleted (the runtime's shared watch). */
  podChanged(pod: V1Pod, deleted: boolean): void {
    const name = pod.metadata?.name ?? '';
    if (deleted) this.#pods.delete(name);
    else this.#pods.set(name, pod);
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** Brings the API server to what is wanted, one request chain at a time; failures back off. */
  #sync(): void {
    if (this.#closed) return;
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    void (async () => {
      try {
        if (!this.#created) await this.#create();
        const wanted = this.#desired;
        if (wanted !== undefined && wanted !== this.#written) await this.#runtime.scaleTo(this.spec, wanted);
        if (wanted !== undefined) this.#written = wanted;
        this.#retryMs = this.#runtime.retryMs;
        if (this.#applyFailure) {
          this.#applyFailure = undefined;
          this.#notify();
        }
      } catch (error) {
        // Deleted behind our back (kubectl delete, a garbage collection in flight): apply it again.
        if (statusCode(error) === 404) this.#created = false;
        const message = errorText(error);
        this.#runtime.logger.warn(
          { namespace: this.spec.namespace, revision: this.spec.revision, err: error },
          `revision ${this.spec.namespace}/${this.spec.revision}: ${message}; retrying in ${this.#retryMs} ms`,
        );
        this.#applyFailure = {
          reason: statusCode(error) === 403 ? 'Forbidden' : 'DeploymentFailed',
          message: `cannot create or scale Deployment ${this.spec.namespace}/${deploymentName(this.spec.revision)}: ${message}`,
          lastLogLines: [],
        };
        this.#notify();
        this.#retryTimer = setTimeout(() => this.#sync(), this.#retryMs);
        this.#retryTimer.unref();
        this.#retryMs = Math.min(30_000, this.#retryMs * 2);
      } finally {
        this.#syncing = false;
        if (this.#again) {
          this.#again = false;
          this.#sync();
        }
      }
    })();
  }

  /**
   * Applies the Deployment and Service. An existing Deployment keeps its replica count (this process
   * restarted; the autoscaler takes over from there), a new one starts at what scale() asked or 0.
   */
  async #create(): Promise<void> {
    const existing = await this.#runtime.readReplicas(this.spec);
    if (existing !== undefined && this.#desired === undefined) this.#desired = existing;
    const replicas = this.#desired ?? existing ?? 0;
    const owner = await this.#runtime.revisionOwner(this.spec);
    await this.#runtime.applyObjects(revisionObjects(this.spec, replicas, owner));
    this.#written = replicas;
    this.#created = true;
  }
}

class KubernetesRuntime implements WorkloadRuntime {
  readonly logger: pino.Logger;
  readonly retryMs: number;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #deployments = new Map<string, KubernetesRevisionDeployment>();
  /** Pods seen before their revision was deployed here (this process just started). */
  readonly #pods = new Map<string, Map<string, V1Pod>>();
  readonly #informer: ReturnType<typeof makeInformer<V1Pod>>;
  readonly #deploymentInformer: ReturnType<typeof makeInformer<V1Deployment>>;
  /** Deployments by revision key, seen before or after their revision was deployed here. */
  readonly #deploymentObjects = new Map<string, V1Deployment>();
  #closed = false;

  constructor(o: KubernetesRuntimeOptions) {
    this.logger = o.logger;
    this.retryMs = o.retryMs ?? 500;
    this.#apps = o.kubeConfig.makeApiClient(AppsV1Api);
    this.#core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY},serving.knative.dev/revision`;
    this.#informer = makeInformer<V1Pod>(
      o.kubeConfig,
      '/api/v1/pods',
      () => this.#core.listPodForAllNamespaces({ labelSelector: selector }) as never,
      selector,
    );
    const deploymentSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    this.#deploymentInformer = makeInformer<V1Deployment>(
      o.kubeConfig,
      '/apis/apps/v1/deployments',
      () => this.#apps.listDeploymentForAllNamespaces({ labelSelector: deploymentSelector }) as never,
      deploymentSelector,
    );
    this.#deploymentInformer.on('add', (d) => this.#deploymentChanged(d, false));
    this.#deploymentInformer.on('update', (d) => this.#deploymentChanged(d, false));
    this.#deploymentInformer.on('delete', (d) => this.#deploymentChanged(d, true));
    this.#restartOnError(this.#deploymentInformer, 'Deployments');
    this.#informer.on('add', (pod) => this.#podChanged(pod, false));
    this.#informer.on('update', (pod) => this.#podChanged(pod, false));
    this.#informer.on('delete', (pod) => this.#podChanged(pod, true));
    let restarts = 0;
    this.#informer.on('connect', () => {
      restarts = 0;
    });
    this.#informer.on('error', (error: unknown) => {
      if (this.#closed) return;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(restarts++, 5));
      this.logger.warn(`watch of revision Pods failed: ${errorText(error)}; re-listing in ${delay} ms`);
      setTimeout(() => {
        if (!this.#closed) void this.#informer.start().catch(() => {});
      }, delay).unref();
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.#informer.start(), this.#deploymentInformer.start()]);
  }

  #restartOnError(
    informer: { on(e: 'connect' | 'error', f: (e?: unknown) => void): void; start(): Promise<void> },
    what: string,
  ): void {
    let restarts = 0;
    informer.on('connect', () => {
      restarts = 0;
    });
    informer.on('error', (error: unknown) => {
      if (this.#closed) return;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(restarts++, 5));
      this.logger.warn(`watch of revision ${what} failed: ${errorText(error)}; re-listing in ${delay} ms`);
      setTimeout(() => {
        if (!this.#closed) void informer.start().catch(() => {});
      }, delay).unref();
    });
  }

  #deploymentChanged(d: V1Deployment, deleted: boolean): void {
    const revision = d.metadata?.labels?.['serving.knative.dev/revision'];
    if (!revision) return;
    const key = revisionKey(d.metadata?.namespace ?? '', revision);
    if (deleted) this.#deploymentObjects.delete(key);
    else this.#deploymentObjects.set(key, d);
    this.#deployments.get(key)?.deploymentChanged(deleted ? undefined : d);
  }

  deploy(spec: WorkloadSpec): RevisionDeployment {
    if (this.#closed) throw new Error('the Kubernetes runtime is closed');
    const key = revisionKey(spec.namespace, spec.revision);
    const deployment = new KubernetesRevisionDeployment(spec, this);
    this.#deployments.set(key, deployment);
    for (const pod of this.#pods.get(key)?.values() ?? []) deployment.podChanged(pod, false);
    deployment.deploymentChanged(this.#deploymentObjects.get(key));
    return deployment;
  }

  forget(deployment: KubernetesRevisionDeployment): void {
    const key = revisionKey(deployment.spec.namespace, deployment.spec.revision);
    if (this.#deployments.get(key) === deployment) this.#deployments.delete(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#deployments.values()].map((d) => d.close()));
    await Promise.all([this.#informer.stop(), this.#deploymentInformer.stop()]);
  }

  async readReplicas(spec: WorkloadSpec): Promise<number | undefined> {
    try {
      const d = await this.#apps.readNamespacedDeployment({
        name: deploymentName(spec.revision),
        namespace: spec.namespace,
      });
      return d.spec?.replicas ?? undefined;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  /** The Revision's uid for ownerReferences; none when it cannot be read (the objects are then unowned). */
  async revisionOwner(spec: WorkloadSpec): Promise<{ uid: string; apiVersion: string } | undefined> {
    try {
      const r = (await this.#custom.getNamespacedCustomObject({
        group: 'serving.knative.dev',
        version: 'v1',
        namespace: spec.namespace,
        plural: 'revisions',
        name: spec.revision,
      })) as { metadata?: { uid?: string } };
      const uid = r.metadata?.uid;
      return uid ? { uid, apiVersion: 'serving.knative.dev/v1' } : undefined;
    } catch (error) {
      this.logger.warn(
        `revision ${spec.namespace}/${spec.revision}: cannot read it for the Deployment's owner (${errorText(error)}); the Deployment will not be garbage-collected with it`,
      );
      return undefined;
    }
  }

  async applyObjects(objects: ReturnType<typeof revisionObjects>): Promise<void> {
    const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const meta = objects.deployment.metadata as { name: string; namespace: string };
    await this.#apps.patchNamespacedDeployment(
      {
        name: meta.name,
        namespace: meta.namespace,
        body: objects.deployment,
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      apply,
    );
    const svc = objects.service.metadata as { name: string; namespace: string };
    await this.#core.patchNamespacedService(
      {
        name: svc.name,
        namespace: svc.namespace,
        body: objects.service,
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      apply,
    );
  }

  async scaleTo(spec: WorkloadSpec, replicas: number): Promise<void> {
    await this.#apps.patchNamespacedDeploymentScale(
      {
        name: deploymentName(spec.revision),
        namespace: spec.namespace,
        body: { spec: { replicas } },
        fieldManager: FIELD_MANAGER,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    this.logger.info(
      { namespace: spec.namespace, revision: spec.revision, replicas },
      `revision ${spec.namespace}/${spec.revision}: Deployment scaled to ${replicas}`,
    );
  }

  #podChanged(pod: V1Pod, deleted: boolean): void {
    const namespace = pod.metadata?.namespace ?? '';
    const revision = pod.metadata?.labels?.['serving.knative.dev/revision'] ?? '';
    const key = revisionKey(namespace, revision);
    const name = pod.metadata?.name ?? '';
    let seen = this.#pods.get(key);
    if (deleted) {
      seen?.delete(name);
      if (seen?.size === 0) this.#pods.delete(key);
    } else {
      if (!seen) {
        seen = new Map();
        this.#pods.set(key, seen);
      }
      seen.set(name, pod);
    }
    this.#deployments.get(key)?.podChanged(pod, deleted);
  }
}

/** Starts the runtime (its Pod watch is listed once before it resolves). */
export async function createKubernetesRuntime(o: KubernetesRuntimeOptions): Promise<WorkloadRuntime> {
  const runtime = new KubernetesRuntime(o);
  await runtime.start();
  return runtime;
}
