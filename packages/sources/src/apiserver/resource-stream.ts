// One list+watch of one resource in one namespace (or all), as client-go's reflector runs it: list
// for a resourceVersion, watch from there, resume each watch from the last resourceVersion seen
// (bookmarks included), and list again when the API server answers 410 Gone (that version was
// compacted away).
//
// What becomes a change:
// - the first list is the starting state, not a change: as in Knative (its reflector's Replace is a
//   no-op), objects that exist when the source starts send nothing;
// - every watch event is one change (ADDED add, MODIFIED update, DELETED delete);
// - a later list (after 410, or after the watch was paused) is compared with the objects last seen:
//   new ones are adds, ones with another resourceVersion updates, missing ones deletes (with their
//   last known state). Knative sends nothing for changes that fell into such a gap; Eddy does.

import { sleep } from '@eddy/runtime';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ChangeAction, KubeObject } from './apiserver-event.js';
import { collectionPath, type DiscoveredResource, KubeApiError, kubeRequest } from './kube-client.js';

/** Server-side end of every watch: below client-node's 30 s inactivity timeout, so a quiet watch ends cleanly. */
const WATCH_TIMEOUT_SECONDS = 25;
const LIST_PAGE = 500;
const RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 30_000;

export interface ResourceStreamOptions {
  config: KubeConfig;
  resource: DiscoveredResource;
  /** `''` = every namespace (or a cluster-scoped resource). */
  namespace: string;
  labelSelector: string;
  logger: Logger;
  signal: AbortSignal;
  /** A change to send; called in the order the API server reported them. */
  onChange(action: ChangeAction, object: KubeObject): void;
  /** True while the changes handed over wait to be sent: the stream then stops watching (backpressure). */
  congested(): boolean;
  /** Resolves once the changes handed over are few enough to watch again. */
  uncongested(): Promise<void>;
  /** Reports the stream's trouble (undefined once it lists or watches again). */
  onProblem(problem: StreamProblem | undefined): void;
}

export interface StreamProblem {
  /** HTTP status of the API server's refusal, when it answered. */
  status?: number;
  /** `list` or `watch`: what failed. */
  verb: 'list' | 'watch';
  message: string;
}

class GoneError extends Error {}

export class ResourceStream {
  readonly #o: ResourceStreamOptions;
  readonly #path: string;
  /** The objects last seen, by namespace/name: a later list is compared with them. */
  readonly #known = new Map<string, KubeObject>();
  #resourceVersion: string | undefined;
  #listed = false;

  constructor(options: ResourceStreamOptions) {
    this.#o = options;
    this.#path = collectionPath(options.resource, options.namespace);
  }

  /** Runs until the signal aborts; never rejects. */
  async run(): Promise<void> {
    const { signal } = this.#o;
    let failures = 0;
    while (!signal.aborted) {
      let verb: StreamProblem['verb'] = 'list';
      try {
        if (this.#o.congested()) await this.#o.uncongested();
        if (signal.aborted) break;
        if (this.#resourceVersion === undefined) {
          await this.#list();
          this.#o.onProblem(undefined);
        }
        verb = 'watch';
        await this.#watch(() => {
          failures = 0;
          this.#o.onProblem(undefined);
        });
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof GoneError) {
          this.#o.logger.info(
            { path: this.#path },
            'watch resourceVersion expired (410 Gone), listing again',
          );
          this.#resourceVersion = undefined;
          continue;
        }
        failures++;
        const status = error instanceof KubeApiError ? error.status : undefined;
        this.#o.onProblem({
          ...(status !== undefined ? { status } : {}),
          verb,
          message: (error as Error).message,
        });
        this.#o.logger.warn({ err: error, path: this.#path, verb }, 'list/watch failed, retrying');
        await sleep(Math.min(RETRY_DELAY_MS * 2 ** (failures - 1), MAX_RETRY_DELAY_MS), signal);
      }
    }
  }

  async #list(): Promise<void> {
    const items: KubeObject[] = [];
    let resourceVersion = '';
    let next: string | undefined;
    for (;;) {
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] };
      try {
        page = (await kubeRequest(this.#o.config, 'GET', this.#path, {
          query: { labelSelector: this.#o.labelSelector, limit: LIST_PAGE, continue: next },
          signal: this.#o.signal,
        })) as typeof page;
      } catch (error) {
        // An expired continue token: start the list over.
        if (error instanceof KubeApiError && error.status === 410 && next !== undefined) {
          items.length = 0;
          next = undefined;
          continue;
        }
        throw error;
      }
      for (const item of page.items ?? []) items.push(this.#typed(item));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      next = page.metadata?.continue || undefined;
      if (next === undefined) break;
    }

    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const before = this.#known.get(key);
      this.#known.set(key, item);
      if (!this.#listed) continue;
      if (!before) this.#o.onChange('add', item);
      else if (before.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.#o.onChange('update', item);
    }
    for (const [key, before] of this.#known) {
      if (seen.has(key)) continue;
      this.#known.delete(key);
      if (this.#listed) this.#o.onChange('delete', before);
    }
    this.#listed = true;
    this.#resourceVersion = resourceVersion;
  }

  /**
   * One watch from the current resourceVersion; `connected` once the API server accepted it. Resolves
   * when it ends or is paused, rejects on failure.
   */
  #watch(connected: () => void): Promise<void> {
    const { signal } = this.#o;
    return new Promise<void>((resolve, reject) => {
      let controller: AbortController | undefined;
      let ended = false;
      let gone = false;
      const stop = () => controller?.abort();
      const finish = (error?: unknown) => {
        if (ended) return;
        ended = true;
        signal.removeEventListener('abort', stop);
        stop();
        if (error) reject(error);
        else resolve();
      };
      signal.addEventListener('abort', stop, { once: true });
      new Watch(this.#o.config)
        .watch(
          this.#path,
          {
            labelSelector: this.#o.labelSelector || undefined,
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: WATCH_TIMEOUT_SECONDS,
          },
          (phase, raw: KubeObject) => {
            if (ended) return;
            if (phase === 'ERROR') {
              const status = raw as { code?: number; message?: string; reason?: string };
              if (status.code === 410) gone = true;
              finish(
                gone
                  ? new GoneError(status.message ?? 'Gone')
                  : new KubeApiError(status.code ?? 500, status.message ?? 'watch error', status.reason),
              );
              return;
            }
            const version = raw.metadata?.resourceVersion;
            if (phase === 'BOOKMARK') {
              if (version) this.#resourceVersion = version;
              return;
            }
            const action: ChangeAction | undefined =
              phase === 'ADDED'
                ? 'add'
                : phase === 'MODIFIED'
                  ? 'update'
                  : phase === 'DELETED'
                    ? 'delete'
                    : undefined;
            if (!action) return;
            const object = this.#typed(raw);
            if (action === 'delete') this.#known.delete(objectKey(object));
            else this.#known.set(objectKey(object), object);
            if (version) this.#resourceVersion = version;
            this.#o.onChange(action, object);
            // Too many changes waiting for the sink: stop reading; run() resumes from this version.
            if (this.#o.congested()) {
              this.#o.logger.debug(
                { path: this.#path, resourceVersion: this.#resourceVersion },
                'watch paused: changes wait for the sink',
              );
              finish();
            }
          },
          (error: unknown) => {
            if (error && !signal.aborted && !ended) {
              const status = (error as { statusCode?: unknown }).statusCode;
              if (typeof status === 'number') {
                finish(
                  status === 410
                    ? new GoneError('Gone')
                    : new KubeApiError(status, `${(error as Error).message} (HTTP ${status})`),
                );
                return;
              }
              // client-node's inactivity timeout or a dropped connection: resume from the last version.
              if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') {
                finish();
                return;
              }
              finish(error);
              return;
            }
            finish();
          },
        )
        .then(
          (c) => {
            controller = c;
            if (ended || signal.aborted) c.abort();
            else connected();
          },
          (error: unknown) => finish(error),
        );
    });
  }

  /** List items and some watch objects lack apiVersion/kind; the event needs them. */
  #typed(object: KubeObject): KubeObject {
    if (object.apiVersion && object.kind) return object;
    const { apiVersion, kind, ...rest } = object;
    return {
      apiVersion: apiVersion || this.#o.resource.apiVersion,
      kind: kind || this.#o.resource.kind,
      ...rest,
    };
  }
}

function objectKey(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
