// The admin API of `eddy dev` (packages/cli/src/admin/protocol.ts is the contract with the client
// verbs): fastify on 127.0.0.1, every request carrying the token from admin.json.

import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import {
  CesqlCompileError,
  type CompiledCesql,
  compileCesql,
  DEFAULT_NAMESPACE,
  formatProblem,
  loadText,
  namespacedKey,
  resourceKey,
} from '@eddy/api';
import { type EventLog, oldestEventTime, type PartitionWindow, timeWindow } from '@eddy/broker';
import { dashboardPaths, registerDashboard } from '@eddy/dashboard';
import {
  bearerMatches,
  type ContractFeed,
  type Generational,
  type Issuer,
  PROBE_PATHS,
  registerFeedRoutes,
  registerProbeRoutes,
} from '@eddy/runtime';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import {
  DashboardSessions,
  isPublicDashboardRequest,
  loginUrl,
  PRINTED_CODE_TTL_MS,
  registerDashboardLogin,
  sessionMayRead,
} from '../admin/dashboard-auth.js';
import { isPublicIdentityRequest, registerIdentityRoutes } from '../admin/identity-routes.js';
import type {
  AppliedItem,
  ApplyRequest,
  ApplyResponse,
  ErrorResponse,
  OldestEvent,
  StatusResponse,
} from '../admin/protocol.js';
import { type DecisionSource, findEntry, registerReadRoutes } from '../admin/read-routes.js';
import { TopologySampler, type TopologySources } from '../admin/topology-sampler.js';
import { respondWithExport } from './export.js';
import type { FileResourceStore } from './file-resource-store.js';
import { loadManifest } from './manifests.js';
import type { StoreEntry } from './resource-store.js';
import { writer } from './response-writer.js';
import { startTail, type TailOptions } from './tail.js';

export interface AdminServerOptions {
  store: FileResourceStore;
  token: string;
  status(): StatusResponse;
  /** Waits (bounded) until a change was reconciled, so a response reflects it. */
  settle?(): Promise<void>;
  /** The serving data plane, for describe's autoscaler decisions (Revisions, and a Service's revisions). */
  serving?: DecisionSource | undefined;
  /** Foreign kinds a loaded source adapter runs. */
  isThirdPartyKind?(apiVersion: string, kind: string): boolean;
  /** The event log and the topic of a running Broker (undefined when it does not run). */
  log: EventLog;
  brokerTopic(namespace: string, name: string): string | undefined;
  /**
   * The contract feeds data-plane processes follow, by component (`broker`, `serving`, `sources`):
   * GET /v1/contract/<name> long-polls, POST reports a member's status (@eddy/runtime's protocol).
   */
  feeds?: Readonly<Record<string, ContractFeed<Generational>>>;
  /** What GET /v1/topology (and the dashboard) shows beside the resources. */
  topology?: TopologySources;
  /** Eddy's OIDC issuer: discovery and JWKS (public) and POST /v1/identity/token. */
  issuer?: Issuer;
  /**
   * `eddy dev`'s own registry (its process metrics, and under --kafka what runs in it), served at
   * /metrics with /healthz and /readyz, without the token as every component's probes are. Under
   * --kafka the component processes serve their own; this is the parent's.
   */
  metrics?: Registry;
  host?: string;
  port?: number;
}

export interface AdminServer {
  readonly url: string;
  /** The dashboard's login link, with a one-time code (PRINTED_CODE_TTL_MS). */
  dashboardLoginUrl(): string;
  close(): Promise<void>;
}

interface BrokerQuery {
  namespace?: string;
  broker?: string;
  filter?: string;
}

/** An optional query parameter holding a time as epoch milliseconds. */
function epochMsParameter(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw new HttpError(
      400,
      `?${name}= must be a time in epoch milliseconds, found ${JSON.stringify(value)}`,
    );
  return Number(value);
}

const OLDEST_EVENT_TIMEOUT_MS = 10_000;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly problems?: string[],
  ) {
    super(message);
  }
}

function applyRequest(body: unknown): ApplyRequest {
  const b = body as Partial<ApplyRequest> | undefined;
  if (!b || typeof b !== 'object' || typeof b.text !== 'string')
    throw new HttpError(400, 'request body must be JSON {"text": "<manifests>", "file": "<name>"}');
  if (b.baseDir !== undefined && typeof b.baseDir !== 'string')
    throw new HttpError(
      400,
      `"baseDir" must be a string (an absolute directory), found ${JSON.stringify(b.baseDir)}`,
    );
  return {
    text: b.text,
    file: typeof b.file === 'string' && b.file !== '' ? b.file : '<request>',
    ...(b.baseDir !== undefined ? { baseDir: b.baseDir } : {}),
    ...(b.create === true ? { create: true } : {}),
  };
}

/** The directory an apply's relative container paths resolve against; eddy dev's own by default. */
function baseDirOf(request: ApplyRequest): string {
  const dir = request.baseDir ?? process.cwd();
  if (!isAbsolute(dir))
    throw new HttpError(400, `"baseDir" must be an absolute directory, found ${JSON.stringify(dir)}`);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new HttpError(400, `"baseDir" ${dir}: no such directory where eddy dev runs`);
  return dir;
}

function isProbeRequest(url: string): boolean {
  return (PROBE_PATHS as readonly string[]).includes(url.split('?')[0] ?? '');
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { store } = options;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 16 * 1024 * 1024,
    // Clients keep connections alive and a tail stream may be mid-flight: shutdown must not wait for them.
    forceCloseConnections: true,
  });
  // Open streams (tail, export), each with its stop, so close() does not wait for clients.
  const streams = new Set<() => Promise<void>>();

  const sessions = new DashboardSessions();
  const dashboardAssets = new Set(dashboardPaths());
  app.addHook('onRequest', async (request, reply) => {
    if (
      isPublicDashboardRequest(request, dashboardAssets) ||
      (options.issuer && isPublicIdentityRequest(request)) ||
      (options.metrics && isProbeRequest(request.url)) ||
      sessionMayRead(request, sessions)
    )
      return;
    if (!bearerMatches(request.headers.authorization, options.token)) {
      const body: ErrorResponse = {
        error:
          'missing or wrong admin token (the Authorization header must be "Bearer <token>" from <data-dir>/admin.json)',
      };
      return reply.code(401).send(body);
    }
  });
  app.setErrorHandler((error: Error & { statusCode?: number; problems?: string[] }, _request, reply) => {
    const code = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const body: ErrorResponse = { error: error.message.split('\n')[0] ?? 'error' };
    if (error.problems) body.problems = error.problems;
    void reply.code(code).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: `no such admin endpoint: ${request.method} ${request.url.split('?')[0]}` });
  });

  const find = (kind: string, namespace: string, name: string): StoreEntry =>
    findEntry(store, kind, namespace, name);
  const settle = async () => {
    await options.settle?.();
  };

  /** The oldest event a running broker's topic still holds (bounded: describe must answer). */
  const oldestEvent = async (namespace: string, name: string): Promise<OldestEvent> => {
    const topic = options.brokerTopic(namespace, name);
    if (!topic) return { error: 'the broker is not ready' };
    try {
      const ms = await oldestEventTime(options.log, topic, AbortSignal.timeout(OLDEST_EVENT_TIMEOUT_MS));
      return { time: ms === undefined ? null : new Date(ms).toISOString() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  app.get('/v1/status', async () => options.status());
  if (options.metrics)
    registerProbeRoutes(app, {
      registry: options.metrics,
      health: async () => ({ ok: true }),
      ready: () => ({ ok: true }),
    });
  if (options.issuer) registerIdentityRoutes(app, options.issuer);

  // Data-plane processes long-poll for a contract newer than theirs and POST their status.
  for (const [name, feed] of Object.entries(options.feeds ?? {}))
    registerFeedRoutes(app, `/v1/contract/${name}`, feed);

  registerDashboard(app);
  let url = '';
  registerDashboardLogin(app, { sessions, token: options.token, url: () => url });

  registerReadRoutes(app, {
    store,
    ...(options.topology ? { topology: new TopologySampler(options.topology) } : {}),
    events: (entry) => store.events(entry.key),
    serving: options.serving,
    describeExtra: async (entry) =>
      entry.resource.kind === 'Broker'
        ? { oldestEvent: await oldestEvent(entry.resource.metadata.namespace, entry.resource.metadata.name) }
        : {},
  });

  app.post('/v1/apply', async (request): Promise<ApplyResponse> => {
    const applying = applyRequest(request.body);
    const { text, file } = applying;
    const dir = baseDirOf(applying);
    const loaded = loadManifest(text, file, {
      ...(options.isThirdPartyKind ? { isThirdPartyKind: options.isThirdPartyKind } : {}),
      baseDir: dir,
    });
    if (!loaded.ok) {
      const n = loaded.errors.length;
      throw new HttpError(
        400,
        n === 1 ? (loaded.errors[0] ?? 'invalid manifest') : `${n} errors in ${file}; nothing applied`,
        loaded.errors,
      );
    }
    if (applying.create) {
      // Checked and written in one turn of the event loop: no other request can create it in between.
      const existing = loaded.resources.find((r) => store.get(resourceKey(r.kind, r.namespace, r.name)));
      if (existing)
        throw new HttpError(409, `${existing.kind} ${existing.namespace}/${existing.name} already exists`);
    }
    const results = store.upsertAll(loaded.resources, { type: 'api', dir });
    for (const r of results)
      if (r.action !== 'unchanged')
        store.recordEvent(r.key, {
          type: 'Normal',
          reason: r.action === 'created' ? 'Created' : 'Updated',
          message: `${r.action} via the admin API (${file})`,
        });
    await settle();
    const items: AppliedItem[] = loaded.resources.map((r, i) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      action: results[i]?.action ?? 'unchanged',
    }));
    return { items, warnings: loaded.warnings };
  });

  app.post('/v1/delete', async (request): Promise<ApplyResponse> => {
    const { text, file } = applyRequest(request.body);
    const loaded = loadText(text, file);
    const fatal = loaded.problems.filter(
      (p) =>
        p.severity === 'error' &&
        (p.code === 'yaml-syntax' || p.code === 'not-an-object' || p.code === 'missing-type'),
    );
    if (fatal.length > 0) throw new HttpError(400, formatProblem(fatal[0]!), fatal.map(formatProblem));
    const targets = loaded.documents
      .filter((d) => d.kind && d.name)
      .map((d) => ({ kind: d.kind!, namespace: d.namespace ?? DEFAULT_NAMESPACE, name: d.name! }));
    const keys = targets.map(
      (t) =>
        store.list({ kind: t.kind, namespace: t.namespace }).find((e) => e.resource.metadata.name === t.name)
          ?.key,
    );
    const removed = new Set(store.deleteAll(keys.filter((k): k is string => k !== undefined)));
    await settle();
    return {
      items: targets.map((t, i) => ({
        ...t,
        kind: keys[i] ? (keys[i]!.split('/')[0] ?? t.kind) : t.kind,
        action: keys[i] && removed.has(keys[i]!) ? 'deleted' : 'not found',
      })),
      warnings: [],
    };
  });

  app.delete<{ Params: { kind: string; ns: string; name: string } }>(
    '/v1/resources/:kind/:ns/:name',
    async (request) => {
      const { kind, ns, name } = request.params;
      const entry = find(kind, ns, name);
      store.deleteAll([entry.key]);
      await settle();
      const response: ApplyResponse = {
        items: [{ kind: entry.resource.kind, namespace: ns, name, action: 'deleted' }],
        warnings: [],
      };
      return response;
    },
  );

  /** The broker a streaming endpoint names (?namespace=&broker=&filter=), checked, with its topic. */
  const brokerStream = (query: BrokerQuery, endpoint: string) => {
    const namespace = query.namespace || DEFAULT_NAMESPACE;
    const broker = query.broker;
    if (!broker)
      throw new HttpError(
        400,
        `${endpoint} needs ?broker=<name> (and optionally &namespace=<ns>&filter=<cesql>)`,
      );
    let filter: CompiledCesql | undefined;
    if (query.filter) {
      try {
        filter = compileCesql(query.filter);
      } catch (e) {
        if (e instanceof CesqlCompileError) throw new HttpError(400, `invalid filter: ${e.message}`);
        throw e;
      }
    }
    if (!store.get(resourceKey('Broker', namespace, broker)))
      throw new HttpError(404, `Broker ${namespace}/${broker} not found`);
    const topic = options.brokerTopic(namespace, broker);
    if (!topic)
      throw new HttpError(
        409,
        `Broker ${namespace}/${broker} is not ready (see eddy describe broker ${broker})`,
      );
    return { name: namespacedKey(namespace, broker), topic, ...(filter ? { filter } : {}) };
  };

  app.get<{ Querystring: BrokerQuery & { from?: string } }>('/v1/tail', async (request, reply) => {
    const { name, topic, filter } = brokerStream(request.query, 'tail');
    const from = epochMsParameter(request.query.from, 'from');
    await streamTail(
      reply,
      {
        log: options.log,
        topic,
        ...(filter ? { filter } : {}),
        ...(from !== undefined ? { start: { timestamp: from } } : {}),
      },
      name,
      streams,
    );
  });

  app.get<{ Querystring: BrokerQuery & { from?: string; to?: string } }>(
    '/v1/export',
    async (request, reply) => {
      const { name, topic, filter } = brokerStream(request.query, 'export');
      const from = epochMsParameter(request.query.from, 'from');
      if (from === undefined) throw new HttpError(400, 'export needs ?from=<epoch ms>');
      const to = epochMsParameter(request.query.to, 'to') ?? Date.now();
      if (to < from) throw new HttpError(400, `to (${to}) is before from (${from})`);
      let window: PartitionWindow[];
      try {
        window = await timeWindow(options.log, topic, from, to);
      } catch (error) {
        throw new HttpError(503, `cannot read ${name}: ${(error as Error).message}`);
      }
      reply.hijack();
      await respondWithExport(
        reply.raw,
        { log: options.log, topic, broker: name, window, from, to, ...(filter ? { filter } : {}) },
        streams,
      );
    },
  );

  url = (await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })).replace(
    'localhost',
    '127.0.0.1',
  );
  return {
    url,
    dashboardLoginUrl: () => loginUrl(url, sessions.mintCode(PRINTED_CODE_TTL_MS).code),
    async close() {
      await Promise.all([...streams].map((stop) => stop()));
      await app.close();
    },
  };
}

async function streamTail(
  reply: FastifyReply,
  options: Omit<TailOptions, 'write'>,
  name: string,
  streams: Set<() => Promise<void>>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const raw = writer(res);
  // Events may arrive as soon as the consumer runs; they wait for the headers and the first line.
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const write = async (line: string) => {
    await opened;
    await raw(line);
  };
  let tail: Awaited<ReturnType<typeof startTail>> | undefined;
  let stopped = false;
  const stop = async () => {
    stopped = true;
    streams.delete(stop);
    if (!res.writableEnded) res.end();
    open();
    await tail?.stop();
  };
  streams.add(stop);
  res.once('close', () => void stop());
  try {
    tail = await startTail({ ...options, write });
    if (stopped) return void (await tail.stop());
    await tail.ready();
  } catch (error) {
    streams.delete(stop);
    await tail?.stop();
    if (!res.headersSent) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: `cannot tail ${name}: ${(error as Error).message}` } satisfies ErrorResponse),
      );
    } else res.end();
    return;
  }
  if (stopped || res.destroyed) return void (await stop());
  res.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.flushHeaders();
  await raw(`${JSON.stringify({ tailing: name })}\n`);
  open();
}
