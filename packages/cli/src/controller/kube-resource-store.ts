// `eddy controller`'s ResourceStore (../dev/resource-store.ts): the reconcile loop `eddy dev` runs,
// with the Kubernetes API server as the place resources live.
//   read     an informer (list + watch, re-listed after an error) per kind Eddy runs, Secrets and
//            ConfigMaps included; every object is checked and defaulted as `eddy validate` does
//            (kube-objects.ts) before the reconcilers see it; one that fails gets Ready=False
//            InvalidSpec and is left out.
//   changes  batched per tick, status-only updates are not changes (they are our own writes);
//            a periodic resync makes the loop run again even when nothing changed.
//   write    statuses through the status subresource, a queue per object (latest status wins,
//            exponential backoff on errors, an unchanged status never sent); children by
//            server-side apply with an ownerReference; Events aggregated like client-go's recorder.
//   deletion Triggers and Subscriptions carry the finalizer `eddy.dev/consumer-group`: a deleted one
//            leaves the reconcile loop's view at once (as a deletion) but stays in the API until the
//            controller has deleted its consumer group (controller.ts), so a controller that was down
//            when it was deleted still cleans up.
// Writing starts only when enableWrites() is called: every replica keeps a warm cache, the leader
// alone writes.

import { isDeepStrictEqual } from 'node:util';
import {
  type ContractInput,
  configMapValues,
  type DataValues,
  resourceKey,
  secretValues,
  type ValueStore,
} from '@eddy/api';
import { Limiter } from '@eddy/runtime';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type pino from 'pino';
import type { StoredResource } from '../admin/protocol.js';
import type {
  ResourceInput,
  ResourceOrigin,
  ResourceStore,
  StoreChange,
  StoreEntry,
  StoreEvent,
  UpsertAction,
} from '../dev/resource-store.js';
import { kubeErrorMessage, kubeStatusCode } from './kube-errors.js';
import {
  type CheckedObject,
  checkObject,
  type KubeObject,
  type WatchedKind,
  watchedKinds,
} from './kube-objects.js';

export const CONSUMER_GROUP_FINALIZER = 'eddy.dev/consumer-group';
const FINALIZED_KINDS = new Set(['Trigger', 'Subscription']);
const FIELD_MANAGER = 'eddy-controller';

export interface KubeResourceStoreOptions {
  kubeConfig: KubeConfig;
  logger: pino.Logger;
  /** This replica's name: Events' reportingInstance. */
  identity: string;
  /** Watch this namespace only (a namespaced install; tests); default every namespace. */
  namespace?: string;
  /** Called for every write sent to the API server (metrics: only the leader may write). */
  onWrite?(what: 'status' | 'metadata' | 'event' | 'apply' | 'delete'): void;
  /** How often the loop runs with nothing changed; default 10 minutes. */
  resyncMs?: number;
  /** First delay before a failed write is tried again (doubling up to 30 s); default 250 ms. */
  retryMs?: number;
  /** Writes in flight at once (statuses, finalizers, Events, children); default 16. */
  maxConcurrentWrites?: number;
  /** How long start() waits for each kind's first list; default 30 s. */
  syncTimeoutMs?: number;
}

interface Held {
  kind: WatchedKind;
  raw: KubeObject;
  checked: CheckedObject;
  /** The object without status and server bookkeeping: a change to it is a change. */
  signature: string;
  terminating: boolean;
}

interface StatusWrite {
  status: StoredResource['status'] | undefined;
  running: boolean;
  failures: number;
}

interface RecordedEvent {
  name: string;
  namespace: string;
  count: number;
}

function signatureOf(object: KubeObject): string {
  const { status: _s, metadata, ...rest } = object;
  const { resourceVersion: _r, managedFields: _m, ...meta } = metadata ?? {};
  return JSON.stringify({ ...rest, metadata: meta });
}

/** Where one custom object is in the API: what every CustomObjectsApi call takes. */
function objectAddress(kind: WatchedKind, meta: { namespace?: string; name?: string }) {
  return {
    group: kind.definition.group,
    version: kind.definition.versions[0] as string,
    namespace: meta.namespace ?? '',
    plural: kind.plural,
    name: meta.name ?? '',
  };
}

export class KubernetesResourceStore implements ResourceStore {
  readonly #o: KubeResourceStoreOptions;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #kinds = new Map<string, WatchedKind>();
  readonly #objects = new Map<string, Held>();
  readonly #listeners = new Set<(changes: StoreChange[]) => void>();
  readonly #informers: { stop(): Promise<void> }[] = [];
  readonly #statusWrites = new Map<string, StatusWrite>();
  /**
   * The status this replica last wrote (or is writing) per object: its own view of the status. A watch
   * event can carry an older one (an update that raced the status write), which must not make the loop
   * write the same status, and record the same Ready Event, twice.
   */
  readonly #written = new Map<string, StoredResource['status'] | undefined>();
  readonly #limiter: Limiter;
  /** Objects whose finalizer could not be added: tried again with backoff. */
  readonly #finalizerRetries = new Map<string, { failures: number; timer: NodeJS.Timeout }>();
  readonly #events = new Map<string, RecordedEvent>();
  readonly #invalidWritten = new Map<string, string>();
  readonly #pendingWrites = new Set<Promise<unknown>>();
  /**
   * Children whose owner has no uid yet (created in the same pass, e.g. a Service's Configuration and
   * that Configuration's Revision): an ownerReference needs the uid, so they are written once the
   * informer brings the owner; by owner key, the latest body per child.
   */
  readonly #awaitingOwner = new Map<string, Map<string, { kind: WatchedKind; body: KubeObject }>>();
  #pending: StoreChange[] = [];
  #flushScheduled = false;
  #writes = false;
  #closed = false;
  #resync: NodeJS.Timeout | undefined;

  private constructor(options: KubeResourceStoreOptions) {
    this.#o = options;
    this.#custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#limiter = new Limiter(options.maxConcurrentWrites ?? 16);
    for (const kind of watchedKinds(options.namespace)) this.#kinds.set(kind.definition.kind, kind);
  }

  /** Starts an informer per kind and resolves once each has listed (or failed to: logged, retried). */
  static async start(options: KubeResourceStoreOptions): Promise<KubernetesResourceStore> {
    const store = new KubernetesResourceStore(options);
    await store.#startInformers();
    store.#resync = setInterval(() => store.#emit([]), options.resyncMs ?? 600_000);
    store.#resync.unref();
    return store;
  }

  /** From now on this replica writes (it leads): statuses, finalizers, Events, children. */
  enableWrites(): void {
    if (this.#writes) return;
    this.#writes = true;
    for (const held of this.#objects.values()) this.#afterObject(held);
  }

  get writing(): boolean {
    return this.#writes;
  }

  // Reading.

  contractInputs(): ContractInput[] {
    return this.list().map((e) => ({
      apiVersion: e.resource.apiVersion,
      kind: e.resource.kind,
      namespace: e.resource.metadata.namespace,
      name: e.resource.metadata.name,
      resource: e.resource as unknown as Record<string, unknown>,
    }));
  }

  list(filter: { kind?: string } = {}): StoreEntry[] {
    const kind = filter.kind?.toLowerCase();
    const out: StoreEntry[] = [];
    for (const [key, held] of this.#objects) {
      if (!held.checked.ok || held.terminating) continue;
      if (kind !== undefined && held.kind.definition.kind.toLowerCase() !== kind) continue;
      out.push(this.#entry(key, held));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): StoreEntry | undefined {
    const held = this.#objects.get(key);
    return held?.checked.ok && !held.terminating ? this.#entry(key, held) : undefined;
  }

  readonly values: ValueStore = {
    secret: (namespace, name) => this.#data('Secret', namespace, name, secretValues),
    configMap: (namespace, name) => this.#data('ConfigMap', namespace, name, configMapValues),
  };

  onChange(listener: (changes: StoreChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Deleted Triggers/Subscriptions still held by the consumer-group finalizer, by key. */
  terminating(): { key: string; kind: string; namespace: string; name: string }[] {
    const out = [];
    for (const [key, held] of this.#objects) {
      if (!held.terminating || !held.raw.metadata?.finalizers?.includes(CONSUMER_GROUP_FINALIZER)) continue;
      out.push({
        key,
        kind: held.kind.definition.kind,
        namespace: held.raw.metadata?.namespace ?? '',
        name: held.raw.metadata?.name ?? '',
      });
    }
    return out;
  }

  /** Lets the API server finish deleting an object once its consumer group is gone. */
  async removeFinalizer(key: string): Promise<void> {
    const held = this.#objects.get(key);
    const finalizers = held?.raw.metadata?.finalizers;
    if (!held || !finalizers?.includes(CONSUMER_GROUP_FINALIZER)) return;
    const at = finalizers.indexOf(CONSUMER_GROUP_FINALIZER);
    // The test makes a concurrent change to the list fail the patch (the informer then brings it).
    await this.#patchMetadata(held, [
      { op: 'test', path: `/metadata/finalizers/${at}`, value: CONSUMER_GROUP_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${at}` },
    ]);
  }

  // Writing.

  upsertAll(
    inputs: readonly ResourceInput[],
    origin: ResourceOrigin,
  ): { key: string; action: UpsertAction }[] {
    const owner = origin.type === 'owner' ? this.#objects.get(origin.owner) : undefined;
    const results: { key: string; action: UpsertAction }[] = [];
    for (const input of inputs) {
      const kind = this.#kinds.get(input.kind);
      if (!kind) throw new Error(`eddy controller does not manage ${input.kind} objects`);
      const key = resourceKey(input.kind, input.namespace, input.name);
      const before = this.#objects.get(key);
      const meta = (input.resource.metadata ?? {}) as NonNullable<KubeObject['metadata']>;
      const ownerMeta = owner?.raw.metadata;
      const { ownerReferences: _given, ...ownMeta } = meta;
      const body: KubeObject = {
        ...input.resource,
        apiVersion: input.apiVersion,
        kind: input.kind,
        metadata: {
          ...ownMeta,
          name: input.name,
          namespace: input.namespace,
          ...(owner
            ? {
                ownerReferences: [
                  {
                    apiVersion: owner.kind.apiVersion,
                    kind: owner.kind.definition.kind,
                    name: ownerMeta?.name ?? '',
                    uid: ownerMeta?.uid ?? '',
                    controller: true,
                    blockOwnerDeletion: true,
                  } as NonNullable<NonNullable<KubeObject['metadata']>['ownerReferences']>[number],
                ],
              }
            : {}),
        },
      };
      delete body.status;
      const unchanged =
        before !== undefined &&
        isDeepStrictEqual(
          JSON.parse(signatureOf({ ...before.raw, metadata: { ...before.raw.metadata, ...body.metadata } })),
          JSON.parse(
            signatureOf({ ...before.raw, ...body, metadata: { ...before.raw.metadata, ...body.metadata } }),
          ),
        );
      results.push({ key, action: before ? (unchanged ? 'unchanged' : 'configured') : 'created' });
      if (unchanged) continue;
      // Seen at once by the caller (the serving reconciler runs to a fixpoint on what the store holds);
      // the informer brings the server's version (generation, uid) right after.
      const generation = (before?.raw.metadata?.generation ?? 0) + 1;
      const local = { ...body, metadata: { ...body.metadata, generation, uid: before?.raw.metadata?.uid } };
      this.#hold(kind, local as KubeObject, false);
      if (!this.#writes) continue;
      if (origin.type === 'owner' && !ownerMeta?.uid) {
        const waiting = this.#awaitingOwner.get(origin.owner) ?? new Map();
        waiting.set(key, { kind, body });
        this.#awaitingOwner.set(origin.owner, waiting);
      } else this.#track(this.#apply(kind, body));
    }
    return results;
  }

  deleteAll(keys: readonly string[]): string[] {
    const existed: string[] = [];
    for (const key of keys) {
      const held = this.#objects.get(key);
      if (!held) continue;
      existed.push(key);
      this.#objects.delete(key);
      this.#queueChange({ key, action: 'deleted' });
      if (this.#writes) this.#track(this.#delete(held));
    }
    return existed;
  }

  setStatus(key: string, status: StoredResource['status'] | undefined): void {
    const held = this.#objects.get(key);
    if (!held || !this.#writes) return;
    // As the API server would store it: keys with undefined values are not sent, so not a difference.
    if (
      isDeepStrictEqual(
        held.raw.status,
        status === undefined ? undefined : JSON.parse(JSON.stringify(status)),
      )
    )
      return;
    held.raw = { ...held.raw, ...(status !== undefined ? { status } : {}) };
    if (status === undefined) delete held.raw.status;
    held.checked.resource.status = status;
    this.#written.set(key, status);
    const write = this.#statusWrites.get(key);
    if (write) {
      write.status = status;
      return;
    }
    const next: StatusWrite = { status, running: false, failures: 0 };
    this.#statusWrites.set(key, next);
    this.#track(this.#writeStatus(key, held.kind, next));
  }

  /** Status writes go out one by one per object; nothing to do at the end of a pass. */
  flush(): void {}

  /** Resolves once the writes queued so far are done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#pendingWrites.size > 0) await Promise.allSettled([...this.#pendingWrites]);
  }

  recordEvent(key: string, event: StoreEvent): void {
    const held = this.#objects.get(key);
    if (!held || !this.#writes) return;
    this.#track(this.#recordEvent(held, event));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#resync);
    await Promise.allSettled(this.#informers.map((i) => i.stop()));
    await this.settled();
  }

  // Inside.

  #entry(key: string, held: Held): StoreEntry {
    const owner = held.raw.metadata?.ownerReferences?.find(
      (r) => r.controller && r.kind !== undefined && this.#kinds.has(r.kind),
    );
    const origin: ResourceOrigin = owner
      ? {
          type: 'owner',
          owner: resourceKey(owner.kind ?? '', held.raw.metadata?.namespace ?? '', owner.name ?? ''),
        }
      : { type: 'api' };
    return { key, origin, resource: held.checked.resource };
  }

  #data(
    kind: 'Secret' | 'ConfigMap',
    namespace: string,
    name: string,
    decode: (object: never) => Map<string, Buffer>,
  ): DataValues | undefined {
    const held = this.#objects.get(resourceKey(kind, namespace, name));
    return held ? decode(held.raw as never) : undefined;
  }

  async #startInformers(): Promise<void> {
    const timeoutMs = this.#o.syncTimeoutMs ?? 30_000;
    await Promise.all(
      [...this.#kinds.values()].map(async (kind) => {
        let restarts = 0;
        const informer = makeInformer<KubernetesObject>(this.#o.kubeConfig, kind.path, async () => {
          const list = await this.#list(kind);
          restarts = 0;
          return list;
        });
        const key = (o: KubeObject) =>
          resourceKey(kind.definition.kind, o.metadata?.namespace ?? '', o.metadata?.name ?? '');
        informer.on('add', (o) => this.#hold(kind, o as KubeObject, true));
        informer.on('update', (o) => this.#hold(kind, o as KubeObject, true));
        informer.on('delete', (o) => this.#forget(key(o as KubeObject)));
        informer.on('error', (error: unknown) => {
          if (this.#closed) return;
          const delay = Math.min(30_000, 1000 * 2 ** Math.min(restarts++, 5));
          const missing = kubeStatusCode(error) === 404 || /404/.test(String(kubeErrorMessage(error)));
          this.#o.logger[restarts === 1 ? 'warn' : 'debug'](
            { kind: kind.definition.kind },
            missing
              ? `${kind.plural}.${kind.definition.group}: the API server does not serve it (CRD not installed? apply \`eddy crds\`); retrying in ${delay} ms`
              : `watch of ${kind.path} failed: ${kubeErrorMessage(error)}; re-listing in ${delay} ms`,
          );
          setTimeout(() => {
            if (!this.#closed) void informer.start().catch(() => {});
          }, delay).unref();
        });
        this.#informers.push(informer);
        try {
          await Promise.race([
            informer.start(),
            new Promise((_, reject) =>
              setTimeout(() => reject(new Error(`no list within ${timeoutMs} ms`)), timeoutMs).unref(),
            ),
          ]);
        } catch (error) {
          this.#o.logger.warn(
            { kind: kind.definition.kind },
            `${kind.path}: first list failed (${kubeErrorMessage(error)}); the informer keeps trying`,
          );
        }
      }),
    );
  }

  async #list(
    kind: WatchedKind,
  ): Promise<{ apiVersion?: string; kind?: string; metadata?: object; items: KubernetesObject[] }> {
    const { definition } = kind;
    const namespace = this.#o.namespace;
    if (namespace !== undefined) {
      if (definition.kind === 'Secret')
        return (await this.#core.listNamespacedSecret({ namespace })) as never;
      if (definition.kind === 'ConfigMap')
        return (await this.#core.listNamespacedConfigMap({ namespace })) as never;
      return (await this.#custom.listNamespacedCustomObject({
        group: definition.group,
        version: definition.versions[0] as string,
        namespace,
        plural: kind.plural,
      })) as never;
    }
    if (definition.kind === 'Secret') return (await this.#core.listSecretForAllNamespaces()) as never;
    if (definition.kind === 'ConfigMap') return (await this.#core.listConfigMapForAllNamespaces()) as never;
    return (await this.#custom.listClusterCustomObject({
      group: definition.group,
      version: definition.versions[0] as string,
      plural: kind.plural,
    })) as never;
  }

  #hold(kind: WatchedKind, raw: KubeObject, fromServer: boolean): void {
    const key = resourceKey(kind.definition.kind, raw.metadata?.namespace ?? '', raw.metadata?.name ?? '');
    const before = this.#objects.get(key);
    const terminating = raw.metadata?.deletionTimestamp !== undefined;
    const signature = signatureOf(raw);
    // The informer hands objects as the API serializes them; the client keeps dates as Date objects.
    const normalized = JSON.parse(JSON.stringify(raw)) as KubeObject;
    if (this.#written.has(key)) {
      const status = this.#written.get(key);
      if (status === undefined) delete normalized.status;
      else normalized.status = status;
    }
    // Most events only carry a new status (this replica's own writes): the spec was checked already.
    const checked: CheckedObject =
      before?.signature === signature
        ? { ...before.checked, resource: { ...before.checked.resource, status: normalized.status } }
        : checkObject(kind, normalized);
    if (checked.resource.status === undefined) delete checked.resource.status;
    const held: Held = { kind, raw: normalized, checked, signature, terminating };
    this.#objects.set(key, held);
    const visible = (h: Held | undefined) => h?.checked.ok && !h.terminating;
    if (visible(held)) {
      if (!visible(before)) this.#queueChange({ key, action: 'created' });
      else if (before?.signature !== signature) this.#queueChange({ key, action: 'configured' });
    } else if (visible(before)) this.#queueChange({ key, action: 'deleted' });
    else if (terminating && !before) this.#queueChange({ key, action: 'deleted' });
    if (fromServer) this.#afterObject(held);
    const children = this.#awaitingOwner.get(key);
    const uid = normalized.metadata?.uid;
    if (fromServer && children && uid && this.#writes) {
      this.#awaitingOwner.delete(key);
      for (const { kind: childKind, body } of children.values()) {
        for (const ref of body.metadata?.ownerReferences ?? []) ref.uid = uid;
        this.#track(this.#apply(childKind, body));
      }
    }
  }

  #forget(key: string): void {
    const before = this.#objects.get(key);
    if (!before) return;
    this.#objects.delete(key);
    this.#invalidWritten.delete(key);
    this.#statusWrites.delete(key);
    this.#written.delete(key);
    const retry = this.#finalizerRetries.get(key);
    if (retry) clearTimeout(retry.timer);
    this.#finalizerRetries.delete(key);
    if (before.checked.ok && !before.terminating) this.#queueChange({ key, action: 'deleted' });
  }

  /** What the leader owes an object it sees: the finalizer, or an invalid one's status. */
  #afterObject(held: Held): void {
    if (!this.#writes) return;
    const meta = held.raw.metadata ?? {};
    const key = resourceKey(held.kind.definition.kind, meta.namespace ?? '', meta.name ?? '');
    if (!held.checked.ok) {
      // A core object (Secret, ConfigMap) has no status of ours to carry the problem.
      if (held.kind.definition.group === '') return;
      if (this.#invalidWritten.get(key) === `${meta.generation}:${held.checked.message}`) return;
      this.#invalidWritten.set(key, `${meta.generation}:${held.checked.message}`);
      const status = {
        observedGeneration: meta.generation ?? 1,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidSpec',
            message: held.checked.message,
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      } as StoredResource['status'];
      const ready = held.raw.status?.conditions?.find((c) => c.type === 'Ready');
      if (
        ready?.reason !== 'InvalidSpec' ||
        ready.message !== held.checked.message ||
        held.raw.status?.observedGeneration !== meta.generation
      ) {
        const write: StatusWrite = { status, running: false, failures: 0 };
        this.#statusWrites.set(key, write);
        this.#track(this.#writeStatus(key, held.kind, write));
        this.#track(
          this.#recordEvent(held, { type: 'Warning', reason: 'InvalidSpec', message: held.checked.message }),
        );
      }
      return;
    }
    this.#invalidWritten.delete(key);
    if (
      FINALIZED_KINDS.has(held.kind.definition.kind) &&
      !held.terminating &&
      !meta.finalizers?.includes(CONSUMER_GROUP_FINALIZER) &&
      !this.#finalizerRetries.has(key)
    )
      this.#track(this.#addFinalizer(key));
  }

  /** Adds the consumer-group finalizer; a failure (but a conflict or a gone object) is retried with backoff. */
  async #addFinalizer(key: string): Promise<void> {
    const held = this.#objects.get(key);
    const finalizers = held?.raw.metadata?.finalizers;
    if (!held || held.terminating || finalizers?.includes(CONSUMER_GROUP_FINALIZER) || !this.#writes) return;
    try {
      // Appending to the list (or creating it) leaves anyone else's finalizers alone.
      await this.#patchMetadata(
        held,
        finalizers
          ? [{ op: 'add', path: '/metadata/finalizers/-', value: CONSUMER_GROUP_FINALIZER }]
          : [{ op: 'add', path: '/metadata/finalizers', value: [CONSUMER_GROUP_FINALIZER] }],
      );
      this.#finalizerRetries.delete(key);
    } catch (error) {
      const code = kubeStatusCode(error);
      if (code === 404) return;
      const failures = (this.#finalizerRetries.get(key)?.failures ?? 0) + 1;
      const delay = Math.min(30_000, (this.#o.retryMs ?? 250) * 2 ** failures);
      if (code !== 409 && code !== 422)
        this.#o.logger.warn(
          { key, retryInMs: delay },
          `${key}: could not add the finalizer (${kubeErrorMessage(error)}); again in ${delay} ms`,
        );
      const timer = setTimeout(() => {
        this.#finalizerRetries.set(key, { failures, timer });
        this.#track(this.#addFinalizer(key));
      }, delay);
      timer.unref();
      this.#finalizerRetries.set(key, { failures, timer });
    }
  }

  #queueChange(change: StoreChange): void {
    this.#pending.push(change);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const changes = this.#pending;
      this.#pending = [];
      this.#emit(changes);
    });
  }

  #emit(changes: StoreChange[]): void {
    if (this.#closed) return;
    for (const listener of [...this.#listeners]) listener(changes);
  }

  #track<T>(promise: Promise<T>): void {
    const tracked = promise.catch(() => {}).finally(() => this.#pendingWrites.delete(tracked));
    this.#pendingWrites.add(tracked);
  }

  async #writeStatus(key: string, kind: WatchedKind, write: StatusWrite): Promise<void> {
    if (write.running) return;
    write.running = true;
    try {
      for (;;) {
        const status = write.status;
        const held = this.#objects.get(key);
        if (!held || this.#closed || this.#statusWrites.get(key) !== write) return;
        try {
          await this.#patchStatus(kind, held, status);
          write.failures = 0;
          if (write.status === status) {
            this.#statusWrites.delete(key);
            return;
          }
        } catch (error) {
          if (kubeStatusCode(error) === 404) {
            this.#statusWrites.delete(key);
            return;
          }
          const delay = Math.min(30_000, (this.#o.retryMs ?? 250) * 2 ** write.failures++);
          this.#o.logger.warn(
            { key, retryInMs: delay },
            `${key}: status write failed (${kubeErrorMessage(error)}); again in ${delay} ms`,
          );
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
        }
      }
    } finally {
      write.running = false;
    }
  }

  #patchStatus(
    kind: WatchedKind,
    held: Held,
    status: StoredResource['status'] | undefined,
  ): Promise<unknown> {
    const meta = held.raw.metadata ?? {};
    const body = [{ op: 'add', path: '/status', value: status ?? {} }];
    this.#o.onWrite?.('status');
    return this.#limiter.run(() =>
      this.#custom.patchNamespacedCustomObjectStatus(
        {
          ...objectAddress(kind, meta),
          body,
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
  }

  #patchMetadata(held: Held, operations: Record<string, unknown>[]): Promise<unknown> {
    const meta = held.raw.metadata ?? {};
    this.#o.onWrite?.('metadata');
    return this.#limiter.run(() =>
      this.#custom.patchNamespacedCustomObject(
        {
          ...objectAddress(held.kind, meta),
          body: operations,
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
  }

  #apply(kind: WatchedKind, body: KubeObject): Promise<unknown> {
    const meta = body.metadata ?? {};
    this.#o.onWrite?.('apply');
    return this.#limiter
      .run(() =>
        this.#custom.patchNamespacedCustomObject(
          {
            ...objectAddress(kind, meta),
            body,
            fieldManager: FIELD_MANAGER,
            force: true,
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        ),
      )
      .catch((error) => {
        this.#o.logger.warn(
          { err: error },
          `apply ${kind.definition.kind} ${meta.namespace}/${meta.name}: ${kubeErrorMessage(error)}`,
        );
      });
  }

  #delete(held: Held): Promise<unknown> {
    const meta = held.raw.metadata ?? {};
    const { definition } = held.kind;
    this.#o.onWrite?.('delete');
    return this.#limiter
      .run(() =>
        this.#custom.deleteNamespacedCustomObject({
          ...objectAddress(held.kind, meta),
          propagationPolicy: 'Background',
        }),
      )
      .catch((error) => {
        if (kubeStatusCode(error) !== 404)
          this.#o.logger.warn(
            { err: error },
            `delete ${definition.kind} ${meta.namespace}/${meta.name}: ${kubeErrorMessage(error)}`,
          );
      });
  }

  /** Like client-go's recorder: the same reason and message on one object counts up one Event. */
  async #recordEvent(held: Held, event: StoreEvent): Promise<void> {
    const meta = held.raw.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const id = `${meta.uid}\0${event.type}\0${event.reason}\0${event.message}`;
    const now = new Date();
    const seen = this.#events.get(id);
    this.#o.onWrite?.('event');
    try {
      if (seen) {
        seen.count++;
        await this.#limiter.run(() =>
          this.#core.patchNamespacedEvent(
            { name: seen.name, namespace, body: { count: seen.count, lastTimestamp: now.toISOString() } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          ),
        );
        return;
      }
      const name = `${meta.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
      await this.#limiter.run(() =>
        this.#core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { name, namespace },
            involvedObject: {
              apiVersion: held.kind.apiVersion,
              kind: held.kind.definition.kind,
              name: meta.name ?? '',
              namespace,
              ...(meta.uid ? { uid: meta.uid } : {}),
              ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
            },
            type: event.type,
            reason: event.reason,
            message: event.message,
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now,
            source: { component: 'eddy-controller' },
            reportingComponent: 'eddy.dev/controller',
            reportingInstance: this.#o.identity,
          },
        }),
      );
      this.#events.set(id, { name, namespace, count: 1 });
      if (this.#events.size > 10_000) this.#events.delete(this.#events.keys().next().value as string);
    } catch (error) {
      this.#o.logger.debug(
        { err: error },
        `event on ${held.kind.definition.kind} ${namespace}/${meta.name}: ${kubeErrorMessage(error)}`,
      );
    }
  }
}
