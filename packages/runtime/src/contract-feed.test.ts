import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContractFeed } from './contract-feed.js';
import { acceptReport, answerPoll } from './contract-feed-http.js';
import { serveContractFeed } from './contract-feed-server.js';
import { type ContractWatch, type ContractWatchOptions, watchContract } from './contract-watch.js';
import { waitFor } from './wait-for.js';

interface Doc {
  generation: number;
  routes: string[];
}

const parseDoc = (value: unknown): Doc => {
  const doc = value as Doc;
  if (typeof doc?.generation !== 'number') throw new Error('"generation" must be a number');
  return doc;
};

const quiet = { info() {}, warn() {}, error() {} };

/**
 * The feed behind a real HTTP server, wired the way a control plane wires it, closed when the test
 * ends; the first `refusePosts` status reports are answered 503.
 */
async function serveFeed(
  feed: ContractFeed<Doc>,
  { token = 'secret', refusePosts = 0 } = {},
): Promise<string> {
  const { url, server, close } = await serveContractFeed(feed, { token });
  if (refusePosts > 0) {
    const [handler] = server.listeners('request') as ((...args: unknown[]) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      if (req.method === 'POST' && refusePosts-- > 0) res.writeHead(503).end('busy');
      else handler?.(req, res);
    });
  }
  cleanups.push(async () => {
    feed.close();
    server.closeAllConnections();
    await close();
  });
  return url;
}

/** A process following `url` as `member`, stopped when the test ends. */
function follow(
  url: string,
  member: { id: string; component: string },
  options: Partial<Pick<ContractWatchOptions<Doc>, 'apply' | 'logger' | 'pollWaitMs'>> = {},
): ContractWatch {
  return track(
    watchContract<Doc>({
      source: url,
      member,
      token: 'secret',
      parse: parseDoc,
      apply: async () => {},
      logger: quiet,
      pollWaitMs: 200,
      ...options,
    }),
  );
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track(watch: ContractWatch): ContractWatch {
  cleanups.push(() => watch.stop());
  return watch;
}

describe('ContractFeed', () => {
  it('answers a poll at once with a newer contract, holds it until one is published, or times out', async () => {
    const feed = new ContractFeed<Doc>();
    expect(await feed.next(-1, 0)).toBeUndefined();
    feed.publish({ generation: 1, routes: [] });
    expect(await feed.next(-1, 1_000)).toEqual({ generation: 1, routes: [] });
    const held = feed.next(1, 5_000);
    expect(feed.publish({ generation: 1, routes: ['stale'] })).toBe(false);
    feed.publish({ generation: 2, routes: ['a'] });
    expect(await held).toEqual({ generation: 2, routes: ['a'] });
    expect(await feed.next(2, 30)).toBeUndefined();
  });

  it('knows its members and when all of one component run a generation', async () => {
    let now = 0;
    const feed = new ContractFeed<Doc>({ memberTtlMs: 100, now: () => now });
    feed.report({ id: 'd1', component: 'dispatcher', applied: 3 });
    feed.report({ id: 'd2', component: 'dispatcher', applied: 2 });
    feed.report({ id: 'i1', component: 'ingress', applied: 3 });
    expect(await feed.appliedBy('dispatcher', 3, 10)).toBe(false);
    const waiting = feed.appliedBy('dispatcher', 3, 5_000);
    feed.report({ id: 'd2', component: 'dispatcher', applied: 3 });
    expect(await waiting).toBe(true);
    // A third dispatcher that has not polled yet keeps "all of them" from being true.
    expect(await feed.appliedBy('dispatcher', 3, 10, 3)).toBe(false);
    now = 150;
    feed.report({ id: 'd1', component: 'dispatcher', applied: 3 });
    expect(feed.members('dispatcher').map((m) => m.id)).toEqual(['d1']);
    feed.forget('d1');
    expect(await feed.appliedBy('dispatcher', 3, 10)).toBe(false);
    // Shutdown: a wait under way and one asked for afterwards both give up at once.
    const pending = feed.appliedBy('dispatcher', 4, 60_000);
    feed.close();
    const after = feed.appliedBy('dispatcher', 4, 60_000);
    const late = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 1_000));
    expect(await Promise.race([pending, late])).toBe(false);
    expect(await Promise.race([after, late])).toBe(false);
  });
});

describe('ContractFeed status reports', () => {
  it('keeps the last status of each member and says when what they report changed', () => {
    const feed = new ContractFeed<Doc>();
    let changes = 0;
    const off = feed.onChange(() => changes++);
    feed.report({ id: 's1', component: 'sources', applied: 1 });
    expect(changes).toBe(1);
    feed.report({ id: 's1', component: 'sources', applied: 1 });
    expect(changes).toBe(1);
    acceptReport(feed, { id: 's1', component: 'sources', applied: 1, status: { ready: ['a'] } });
    expect(changes).toBe(2);
    // A poll carries no status: the last one stays.
    feed.report({ id: 's1', component: 'sources', applied: 2 });
    expect(feed.members('sources')[0]?.status).toEqual({ ready: ['a'] });
    expect(changes).toBe(3);
    feed.forget('s1');
    expect(changes).toBe(4);
    off();
    feed.report({ id: 's2', component: 'sources' });
    expect(changes).toBe(4);
  });

  it('refuses a malformed report or poll, naming the field', () => {
    const feed = new ContractFeed<Doc>();
    expect(() => acceptReport(feed, [])).toThrow(/must be a JSON object/);
    expect(() => acceptReport(feed, { id: 'x', component: '', status: 1 })).toThrow(/"component" must be/);
    expect(() => acceptReport(feed, { id: 'x', component: 'c', applied: '1', status: 1 })).toThrow(
      /"applied" must be a number/,
    );
    expect(() => acceptReport(feed, { id: 'x', component: 'c' })).toThrow(/"status" is missing/);
    expect(() => answerPoll(feed, { after: 'soon' })).toThrow(/after must be a number, got "soon"/);
    expect(feed.members()).toEqual([]);
  });
});

describe('watchContract', () => {
  it('reports status to a URL feed, the latest one once the feed takes it', async () => {
    const feed = new ContractFeed<Doc>();
    const url = await serveFeed(feed, { refusePosts: 1 });
    feed.publish({ generation: 3, routes: [] });
    const watch = follow(url, { id: 'src-1', component: 'sources' });
    await watch.first;
    watch.report({ n: 1 });
    watch.report({ n: 2 });
    await waitFor('the latest status to arrive', () =>
      (feed.members('sources')[0]?.status as { n?: number } | undefined)?.n === 2 ? true : undefined,
    );
    expect(feed.members('sources')[0]).toMatchObject({ id: 'src-1', applied: 3, status: { n: 2 } });
  });

  it('follows a URL feed, reporting what it applied and why a contract failed', async () => {
    const feed = new ContractFeed<Doc>();
    const url = await serveFeed(feed);
    const applied: number[] = [];
    feed.publish({ generation: 5, routes: [] });
    const watch = follow(
      url,
      { id: 'd-1', component: 'dispatcher' },
      {
        apply: async (doc) => {
          if (doc.routes.includes('bad')) throw new Error('route bad cannot start');
          applied.push(doc.generation);
        },
      },
    );
    await watch.first;
    expect(applied).toEqual([5]);
    feed.publish({ generation: 6, routes: ['bad'] });
    await waitFor('the failure to be reported', () =>
      feed.members('dispatcher').find((m) => m.applied === 6 && m.error === 'route bad cannot start'),
    );
    feed.publish({ generation: 7, routes: ['ok'] });
    expect(await feed.appliedBy('dispatcher', 7, 5_000)).toBe(true);
    expect(applied).toEqual([5, 7]);
    expect(feed.members('dispatcher')[0]?.error).toBeUndefined();
  });

  it('applies a contract that failed again, with backoff, until it runs or a newer one replaces it', async () => {
    const feed = new ContractFeed<Doc>();
    const url = await serveFeed(feed);
    const attempts: number[] = [];
    const errors: string[] = [];
    let failuresLeft = 2;
    feed.publish({ generation: 1, routes: ['flaky'] });
    const watch = track(
      watchContract<Doc>({
        source: url,
        member: { id: 'd-2', component: 'dispatcher' },
        token: 'secret',
        parse: parseDoc,
        apply: async (doc) => {
          attempts.push(doc.generation);
          if (doc.routes.includes('never')) throw new Error('cannot ever start');
          if (doc.routes.includes('flaky') && failuresLeft-- > 0) throw new Error('topic not there yet');
        },
        logger: { ...quiet, error: (_f, message) => errors.push(message) },
        pollWaitMs: 200,
        retryFailedApplyMs: 20,
      }),
    );
    await watch.first;
    expect(await feed.appliedBy('dispatcher', 1, 5_000)).toBe(true);
    await waitFor('the third attempt to succeed', () =>
      attempts.length === 3 && feed.members('dispatcher')[0]?.error === undefined ? true : undefined,
    );
    expect(attempts).toEqual([1, 1, 1]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/topic not there yet \(trying again in 20 ms\)/);
    expect(errors[1]).toMatch(/trying again in 40 ms/);

    // A contract that keeps failing is retried until a newer one comes, and not after.
    feed.publish({ generation: 2, routes: ['never'] });
    await waitFor('generation 2 to be tried three times', () =>
      attempts.filter((g) => g === 2).length >= 3 ? true : undefined,
    );
    feed.publish({ generation: 3, routes: [] });
    expect(await feed.appliedBy('dispatcher', 3, 5_000)).toBe(true);
    const triedTwo = attempts.filter((g) => g === 2).length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(attempts.filter((g) => g === 2)).toHaveLength(triedTwo);
    expect(attempts.at(-1)).toBe(3);
  });

  it('retries an unreachable or refusing feed until it answers', async () => {
    const feed = new ContractFeed<Doc>();
    feed.publish({ generation: 1, routes: [] });
    const url = await serveFeed(feed, { token: 'other-token' });
    const warnings: string[] = [];
    let applied = 0;
    follow(
      url,
      { id: 'i-1', component: 'ingress' },
      {
        apply: async () => {
          applied++;
        },
        logger: { ...quiet, warn: (_f, message) => warnings.push(message) },
        pollWaitMs: 100,
      },
    );
    await waitFor('a warning', () => warnings.length > 0);
    expect(warnings[0]).toMatch(/unreachable \(.*HTTP 401/);
    expect(applied).toBe(0);
  });

  it('reads a file, follows atomic replacements, and keeps the running contract when one is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-contract-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'contract.json');
    const replace = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    replace(JSON.stringify({ generation: 1, routes: [] }));
    const errors: string[] = [];
    const applied: number[] = [];
    const watch = track(
      watchContract<Doc>({
        source: file,
        member: { id: 'x', component: 'dispatcher' },
        parse: parseDoc,
        apply: async (doc) => {
          applied.push(doc.generation);
        },
        logger: { ...quiet, error: (_f, message) => errors.push(message) },
        fileIntervalMs: 50,
      }),
    );
    await watch.first;
    expect(watch.generation).toBe(1);
    replace('{ "generation": ');
    await waitFor('the broken file to be reported', () => errors.find((e) => /not valid JSON/.test(e)));
    expect(errors[0]).toContain(file);
    replace(JSON.stringify({ generation: 2, routes: ['a'] }));
    await waitFor('generation 2', () => watch.generation === 2);
    expect(applied).toEqual([1, 2]);
  });
});
