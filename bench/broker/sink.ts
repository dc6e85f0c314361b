// The subscriber every e2e cell delivers to: a bare Node HTTP server on 127.0.0.1 that answers 202
// to every POST and counts it. Run as its own process so its CPU shows up apart from the contender's:
//
//   node bench/broker/sink.ts <port>      (prints "sink listening on <port>" once it listens)
//
// GET /stats -> {"count":N,"latency":{"n":..,"p50Ms":..,"p99Ms":..,"maxMs":..}}: events received, and
// for those carrying the `ce-benchts` extension (wall-clock microseconds the load generator stamped),
// receive time minus that stamp. POST /reset clears the latency samples (the count keeps going).
// GET /paths -> {"/t/17": 1, ...}: deliveries per path under /t/ (the many-Triggers cell).
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
let count = 0;
let samples: number[] = [];
/** Deliveries per path under /t/ (one path per Trigger in the many-Triggers cell). */
const byPath = new Map<string, number>();

/** Wall clock in microseconds; the load generator uses the same expression in its own process. */
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function stats() {
  const sorted = Float64Array.from(samples).sort();
  const arr = Array.from(sorted);
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    count,
    latency: {
      n: arr.length,
      p50Ms: ms(percentile(arr, 50)),
      p99Ms: ms(percentile(arr, 99)),
      maxMs: ms(arr.at(-1) ?? Number.NaN),
    },
  };
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats()));
    return;
  }
  if (req.method === 'GET' && req.url === '/paths') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(Object.fromEntries(byPath)));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    samples = [];
    res.writeHead(204).end();
    return;
  }
  const stamp = req.headers['ce-benchts'];
  req.on('data', () => {});
  req.on('end', () => {
    count++;
    if (req.url?.startsWith('/t/')) byPath.set(req.url, (byPath.get(req.url) ?? 0) + 1);
    if (typeof stamp === 'string') samples.push(nowUs() - Number(stamp));
    res.writeHead(202).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`sink listening on ${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => process.exit(0));
