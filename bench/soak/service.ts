// One replica of a soak Service (Eddy runs it as a process, on the $PORT it is given). Before it
// answers 202 it appends the event's sequence number (the ce-id's last `-` part) to its own file,
// <RECEIVED_DIR>/<SERVICE>-<pid>.ids, with a synchronous write: an id in a file was received, however
// the replica ends (scale-down, crash). DELAY_MS holds each answer (a timer, no CPU) so the
// autoscaled Service sees real concurrency. GET /metrics reports its heap and event-loop delay in
// Prometheus text for the soak's sampler.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const { PORT, RECEIVED_DIR, SERVICE, DELAY_MS = '0' } = process.env;
if (!PORT || !RECEIVED_DIR || !SERVICE)
  throw new Error('soak service: PORT, RECEIVED_DIR and SERVICE are required');
const delayMs = Number(DELAY_MS);
const fd = openSync(join(RECEIVED_DIR, `${SERVICE}-${process.pid}.ids`), 'a');
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/metrics') {
    const p99 = loop.percentile(99) / 1e9;
    loop.reset();
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(
        `nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}\nnodejs_eventloop_lag_p99_seconds ${p99}\n`,
      );
    return;
  }
  req.resume();
  req.on('end', () => {
    const id = String(req.headers['ce-id'] ?? '');
    writeSync(fd, `${id.slice(id.lastIndexOf('-') + 1)}\n`);
    if (delayMs > 0) setTimeout(() => res.writeHead(202).end(), delayMs);
    else res.writeHead(202).end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => {
    closeSync(fd);
    process.exit(0);
  });
  server.closeIdleConnections();
});
