// The API server as the benchmark talks to it: plain HTTPS with the cluster's CA and admin token
// (undici), so creating N objects with bounded concurrency and watching them costs no kubectl process
// per call and no client library the benchmark would have to depend on.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

export interface Api {
  server: string;
  get(path: string): Promise<{ status: number; body: unknown }>;
  post(path: string, body: unknown): Promise<{ status: number; body: unknown }>;
  /** Streams `path?watch=1&resourceVersion=<rv>` until `signal` aborts; calls `onEvent` per watch event. */
  watch(
    path: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
    creationTimestamp?: string;
  };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string };
}

export function kubeApi(server: string, caFile: string, token: string): Api {
  const dispatcher = new Agent({
    connect: { ca: readFileSync(caFile) },
    // Watches stay open for as long as the phase runs.
    bodyTimeout: 0,
    headersTimeout: 60_000,
    keepAliveTimeout: 30_000,
  });
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${server}${path}`, {
      method,
      dispatcher,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.statusCode, body: parsed };
  };
  return {
    server,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    async watch(path, resourceVersion, onEvent, signal) {
      let rv = resourceVersion;
      while (!signal.aborted) {
        const sep = path.includes('?') ? '&' : '?';
        let res: Awaited<ReturnType<typeof request>>;
        try {
          res = await request(
            `${server}${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=1800&resourceVersion=${rv}`,
            { dispatcher, headers, signal },
          );
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
        if (res.statusCode !== 200)
          throw new Error(`watch ${path}: HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
        let partial = '';
        try {
          for await (const chunk of res.body) {
            const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) {
              if (!line.trim()) continue;
              const event = JSON.parse(line) as WatchEvent;
              if (event.type === 'ERROR')
                throw new Error(`watch ${path}: ${event.object.code} ${event.object.message}`);
              if (event.object.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion;
              if (event.type !== 'BOOKMARK') onEvent(event);
            }
          }
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
        // The server ended the watch (timeoutSeconds): go on from the last version seen.
      }
    },
    close: () => dispatcher.close(),
  };
}

/** Ready=True for the object's current generation: what "reconciled" means. */
export function isReady(o: KubeObject): boolean {
  const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && o.status?.observedGeneration === o.metadata.generation;
}

/** Runs `work(i)` for i in [0, n) with at most `limit` at a time; `onDone` after each. */
export async function bounded(
  n: number,
  limit: number,
  work: (i: number) => Promise<void>,
  onDone?: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await work(i);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}
