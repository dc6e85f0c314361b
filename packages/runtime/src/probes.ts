// The three endpoints every data-plane component answers on its port, whatever else it serves:
// /healthz (can it do its work now, e.g. its event log answers), /readyz (it runs a contract and its
// routes are up: what a load balancer or the supervisor waits for) and /metrics (Prometheus).
// The ingress and the router serve them beside their routes; a component with no other HTTP (a
// dispatcher, the sources) gets a server of its own (startProbeServer).

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerHeapAfterMajorGc } from './heap-after-gc.js';
import { boundPort, listenUrl } from './listen-url.js';

/** A probe's answer: 200 when `ok`, else 503; the whole object is the JSON body. */
export interface ProbeResult {
  ok: boolean;
  [detail: string]: unknown;
}

export interface Probes {
  registry: Registry;
  health(): Promise<ProbeResult>;
  ready(): ProbeResult;
}

export const PROBE_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** GET (and HEAD) on the probe paths; any other method is 405 naming the path. */
export function registerProbeRoutes(app: FastifyInstance, probes: Probes): void {
  for (const path of PROBE_PATHS) {
    app.all(path, async (request, reply) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return reply
          .code(405)
          .header('allow', 'GET')
          .send({ error: `${request.method} is not allowed on ${path}; use GET` });
      }
      if (path === '/metrics') {
        const text = await probes.registry.metrics();
        return reply.code(200).header('content-type', probes.registry.contentType).send(text);
      }
      return answer(reply, path === '/healthz' ? await probes.health() : probes.ready());
    });
  }
}

function answer(reply: FastifyReply, result: ProbeResult): FastifyReply {
  const { ok, ...detail } = result;
  return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', ...detail });
}

export interface ProbeServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A server with only the probe endpoints (for a component that serves no other HTTP). */
export async function startProbeServer(options: {
  host: string;
  port: number;
  probes: Probes;
  logger: { info(fields: object, message: string): void };
  /** Names the component in the "listening" log line. */
  component: string;
  reusePort?: boolean;
  /** More routes on the same server (the serving primary's endpoints feed for its extra routers). */
  routes?: (app: FastifyInstance) => void;
}): Promise<ProbeServer> {
  // Long polls on added routes must not hold close() up.
  const app = Fastify({ logger: false, ...(options.routes ? { forceCloseConnections: true } : {}) });
  registerProbeRoutes(app, options.probes);
  options.routes?.(app);
  await app.listen({
    host: options.host,
    port: options.port,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const url = listenUrl(options.host, boundPort(app.server.address(), options.port));
  options.logger.info(
    { url, component: options.component },
    `${options.component} listening on ${url} (/healthz, /readyz, /metrics)`,
  );
  return { url, close: () => app.close() };
}

/**
 * The registry of a component process: its own metrics plus Node's process metrics (RSS, heap
 * spaces, event-loop lag, GC, heap after the latest major GC), which is what tells a memory or
 * latency problem apart.
 */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerHeapAfterMajorGc(registry);
  return registry;
}
