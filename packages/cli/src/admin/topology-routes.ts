// GET /v1/topology and its Server-Sent Events stream (protocol.ts), over a TopologySampler: served by
// whichever server has the data (eddy dev now; eddy controller where its data allows).

import type { FastifyInstance } from 'fastify';
import type { Topology } from './protocol.js';
import type { TopologySampler } from './topology-sampler.js';

/** A comment line now and then keeps proxies and idle timeouts from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export function registerTopologyRoutes(app: FastifyInstance, sampler: TopologySampler): void {
  const stops = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const stop of stops) stop();
    sampler.stop();
  });

  app.get('/v1/topology', async (): Promise<Topology> => sampler.current());

  app.get('/v1/topology/stream', async (request, reply) => {
    const first = await sampler.current();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const send = (topology: Topology) => {
      if (!res.writableEnded) res.write(`event: topology\ndata: ${JSON.stringify(topology)}\n\n`);
    };
    send(first);
    const unsubscribe = sampler.subscribe(send);
    const keepalive = setInterval(() => {
      if (!res.writableEnded) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS).unref();
    const stop = () => {
      unsubscribe();
      clearInterval(keepalive);
      stops.delete(stop);
      if (!res.writableEnded) res.end();
    };
    stops.add(stop);
    request.raw.once('close', stop);
    res.once('close', stop);
  });
}
