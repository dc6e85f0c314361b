// `eddy dev`'s ResourceStore (resource-store.ts): one JSON file in the data dir, rewritten atomically on
// every change, so a restart continues with the same generations, creation times and revision numbers.
// Secrets are stored redacted; their values live in secrets.json beside it (secret-values.ts) and leave
// the store only through `values`.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type ContractInput, configMapValues, redactSecret, resourceKey, type ValueStore } from '@eddy/api';
import type { DescribeEvent, StoredResource } from '../admin/protocol.js';
import { writeFileAtomic } from './atomic-file.js';
import type {
  ResourceInput,
  ResourceOrigin,
  ResourceStore,
  StoreChange,
  StoreEntry,
  StoreEvent,
  UpsertAction,
} from './resource-store.js';
import { SecretValues } from './secret-values.js';

export const STORE_FILE = 'resources.json';
const STORE_VERSION = 1;
/** Events kept per resource for `eddy describe`. */
export const MAX_EVENTS = 25;

/** The core kinds (apiVersion `v1`) whose data the store serves through `values`. */
const isCore = (r: { apiVersion: string; kind: string }, kind: 'Secret' | 'ConfigMap') =>
  r.apiVersion === 'v1' && r.kind === kind;

/** The parts of an object whose change bumps metadata.generation (Kubernetes: everything but metadata and status). */
function generationContent(o: Record<string, unknown>): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

interface MetadataView {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: StoredResource['metadata']['ownerReferences'];
}

function metadataView(o: Record<string, unknown>): MetadataView {
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  const out: MetadataView = {};
  if (m.labels && Object.keys(m.labels as object).length > 0) out.labels = m.labels as Record<string, string>;
  if (m.annotations && Object.keys(m.annotations as object).length > 0)
    out.annotations = m.annotations as Record<string, string>;
  if (Array.isArray(m.ownerReferences) && m.ownerReferences.length > 0)
    out.ownerReferences = m.ownerReferences as MetadataView['ownerReferences'];
  return out;
}

/** The object as stored: what was applied (without status), with the server-set metadata and the kept status. */
function storedResource(
  input: ResourceInput,
  incoming: Record<string, unknown>,
  meta: MetadataView,
  generation: number,
  server: { creationTimestamp: string; uid: string },
  status?: StoredResource['status'],
): StoredResource {
  return {
    ...incoming,
    apiVersion: input.apiVersion,
    kind: input.kind,
    metadata: { name: input.name, namespace: input.namespace, generation, ...server, ...meta },
    ...(status ? { status } : {}),
  } as StoredResource;
}

export class FileResourceStore implements ResourceStore {
  readonly file: string;
  readonly #entries = new Map<string, StoreEntry>();
  readonly #events = new Map<string, DescribeEvent[]>();
  readonly #listeners = new Set<(changes: StoreChange[]) => void>();
  readonly #now: () => Date;
  readonly #secrets: SecretValues;
  /** An origin moved without a resource change: still worth writing. */
  #dirty = false;

  private constructor(dataDir: string, now: () => Date) {
    this.file = join(dataDir, STORE_FILE);
    this.#now = now;
    this.#secrets = SecretValues.open(dataDir);
  }

  /**
   * The stored Secrets' values and ConfigMaps' data, for `secretKeyRef` / `configMapKeyRef` (the only
   * way a Secret's value leaves the store).
   */
  readonly values: ValueStore = {
    secret: (namespace, name) => {
      const key = resourceKey('Secret', namespace, name);
      const entry = this.#entries.get(key);
      return entry && isCore(entry.resource, 'Secret') ? (this.#secrets.get(key) ?? new Map()) : undefined;
    },
    configMap: (namespace, name) => {
      const entry = this.#entries.get(resourceKey('ConfigMap', namespace, name));
      return entry && isCore(entry.resource, 'ConfigMap')
        ? configMapValues(entry.resource as unknown as Parameters<typeof configMapValues>[0])
        : undefined;
    },
  };

  /** Opens (or starts) the store of a data dir; a corrupt file is an error naming it, never silently reset. */
  static open(dataDir: string, options: { now?: () => Date } = {}): FileResourceStore {
    const store = new FileResourceStore(dataDir, options.now ?? (() => new Date()));
    let text: string | undefined;
    try {
      text = readFileSync(store.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let data: { version?: number; entries?: StoreEntry[] };
      try {
        data = JSON.parse(text) as typeof data;
      } catch (e) {
        throw new Error(
          `resource store ${store.file} is not valid JSON (${(e as Error).message}); move it away to start empty`,
        );
      }
      if (data.version !== STORE_VERSION || !Array.isArray(data.entries))
        throw new Error(`resource store ${store.file}: unknown format (expected version ${STORE_VERSION})`);
      for (const e of data.entries) store.#entries.set(e.key, e);
    }
    store.#secrets.retain(new Set(store.#entries.keys()));
    return store;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Called after every change of resources (not of status), with what changed. */
  onChange(listener: (changes: StoreChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(key: string): StoreEntry | undefined {
    return this.#entries.get(key);
  }

  /** Sorted by kind, namespace, name. */
  list(filter: { kind?: string; namespace?: string } = {}): StoreEntry[] {
    const kind = filter.kind?.toLowerCase();
    return [...this.#entries.values()]
      .filter(
        (e) =>
          (kind === undefined || e.resource.kind.toLowerCase() === kind) &&
          (filter.namespace === undefined || e.resource.metadata.namespace === filter.namespace),
      )
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The resources as computeContract / reconcileServing take them. */
  contractInputs(): ContractInput[] {
    return this.list().map((e) => ({
      apiVersion: e.resource.apiVersion,
      kind: e.resource.kind,
      namespace: e.resource.metadata.namespace,
      name: e.resource.metadata.name,
      resource: e.resource as unknown as Record<string, unknown>,
    }));
  }

  /** Creates or updates resources as one change (one write, one notification). */
  upsertAll(
    inputs: readonly ResourceInput[],
    origin: ResourceOrigin,
  ): { key: string; action: UpsertAction }[] {
    const results = inputs.map((input) => ({
      key: resourceKey(input.kind, input.namespace, input.name),
      action: this.#upsert(input, origin),
    }));
    this.#commit(results.filter((r) => r.action !== 'unchanged'));
    return results;
  }

  upsert(input: ResourceInput, origin: ResourceOrigin): UpsertAction {
    const [r] = this.upsertAll([input], origin);
    return r?.action ?? 'unchanged';
  }

  /** Deletes resources and (recursively) everything they own. Returns the keys that existed. */
  deleteAll(keys: readonly string[]): string[] {
    const removed: string[] = [];
    const remove = (key: string) => {
      if (!this.#entries.delete(key)) return;
      this.#events.delete(key);
      this.#secrets.delete(key);
      removed.push(key);
      for (const e of [...this.#entries.values()])
        if (e.origin.type === 'owner' && e.origin.owner === key) remove(e.key);
    };
    for (const k of keys) remove(k);
    this.#commit(removed.map((key) => ({ key, action: 'deleted' as const })));
    return keys.filter((k) => removed.includes(k));
  }

  /**
   * Makes the resources from one file exactly `inputs`: upserts them and deletes what the file
   * defined before and no longer does.
   */
  syncFile(file: string, inputs: readonly ResourceInput[]): StoreChange[] {
    const changes: StoreChange[] = [];
    const keep = new Set<string>();
    for (const input of inputs) {
      const key = resourceKey(input.kind, input.namespace, input.name);
      keep.add(key);
      const action = this.#upsert(input, { type: 'file', file });
      if (action !== 'unchanged') changes.push({ key, action });
    }
    const gone = [...this.#entries.values()]
      .filter((e) => e.origin.type === 'file' && e.origin.file === file && !keep.has(e.key))
      .map((e) => e.key);
    // deleteAll commits and notifies for the deletions; the upserts are committed here.
    this.#commit(changes);
    for (const key of this.deleteAll(gone)) changes.push({ key, action: 'deleted' });
    return changes;
  }

  /** Files that resources came from. */
  files(): string[] {
    const out = new Set<string>();
    for (const e of this.#entries.values()) if (e.origin.type === 'file') out.add(e.origin.file);
    return [...out].sort();
  }

  /** Replaces a resource's status (not a resource change: no notification); persisted with the next write. */
  setStatus(key: string, status: StoredResource['status'] | undefined): void {
    const e = this.#entries.get(key);
    if (!e) return;
    if (status === undefined) delete e.resource.status;
    else e.resource.status = status;
  }

  recordEvent(key: string, event: StoreEvent): void {
    if (!this.#entries.has(key)) return;
    const list = this.#events.get(key) ?? [];
    list.push({
      time: event.time ?? this.#now().toISOString(),
      type: event.type,
      reason: event.reason,
      message: event.message,
    });
    if (list.length > MAX_EVENTS) list.splice(0, list.length - MAX_EVENTS);
    this.#events.set(key, list);
  }

  events(key: string): DescribeEvent[] {
    return [...(this.#events.get(key) ?? [])];
  }

  /**
   * Writes the store file now (temp file, fsync, rename: a crash leaves the old or the new file), and
   * secrets.json when a Secret's values changed.
   */
  flush(): void {
    // Values first: a Secret in resources.json whose values are not written yet would resolve to nothing.
    this.#secrets.flush();
    writeFileAtomic(
      this.file,
      `${JSON.stringify({ version: STORE_VERSION, entries: this.list() }, null, 1)}\n`,
    );
    this.#dirty = false;
  }

  #upsert(input: ResourceInput, origin: ResourceOrigin): UpsertAction {
    const key = resourceKey(input.kind, input.namespace, input.name);
    const existing = this.#entries.get(key);
    let incoming = structuredClone(input.resource);
    delete incoming.status;
    // A Secret is kept redacted; its values go to secrets.json (and count as content for the generation).
    const secret = isCore(input, 'Secret') ? redactSecret(incoming) : undefined;
    if (secret) incoming = secret.redacted;
    const valuesChanged = secret ? this.#secrets.differs(key, secret.values) : false;
    if (secret) this.#secrets.set(key, secret.values);
    else this.#secrets.delete(key);
    const meta = metadataView(incoming);
    if (!existing) {
      const resource = storedResource(input, incoming, meta, 1, {
        creationTimestamp: this.#now().toISOString(),
        uid: randomUUID(),
      });
      this.#entries.set(key, { key, origin, resource });
      return 'created';
    }
    const before = existing.resource as unknown as Record<string, unknown>;
    const specChanged =
      !isDeepStrictEqual(generationContent(before), generationContent(incoming)) ||
      before.apiVersion !== input.apiVersion ||
      valuesChanged;
    const metaChanged = !isDeepStrictEqual(metadataView(before), meta);
    const originChanged = !isDeepStrictEqual(existing.origin, origin);
    existing.origin = origin;
    if (originChanged) this.#dirty = true;
    if (!specChanged && !metaChanged) return 'unchanged';
    const generation = existing.resource.metadata.generation + (specChanged ? 1 : 0);
    existing.resource = storedResource(
      input,
      incoming,
      meta,
      generation,
      {
        creationTimestamp: existing.resource.metadata.creationTimestamp,
        // Stores written before uids existed get one on their next change.
        uid: existing.resource.metadata.uid ?? randomUUID(),
      },
      existing.resource.status,
    );
    return 'configured';
  }

  #commit(changes: StoreChange[]): void {
    if (changes.length === 0 && !this.#dirty) return;
    this.flush();
    if (changes.length === 0) return;
    for (const l of this.#listeners) l(changes);
  }
}
