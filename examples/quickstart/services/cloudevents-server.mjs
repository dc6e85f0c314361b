// The little HTTP server both quickstart services share (plain Node, no dependencies): it reads one
// CloudEvent per request (binary or structured mode), hands it to the service's handler, logs it, and
// follows the workload contract of a Knative revision: listen on $PORT, drain on SIGTERM.
//
// EVENTS_LOG=<file>: also append every event received as one JSON line (the end-to-end test reads it).
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const CONTEXT = ['id', 'source', 'type', 'subject', 'time', 'specversion', 'datacontenttype'];

function decode(value) {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The request as a CloudEvent: `{ id, type, source, ..., extensions, data }`. */
function toEvent(req, body) {
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('application/cloudevents+json')) {
    const { data, data_base64, ...attributes } = JSON.parse(body.toString('utf8'));
    return {
      ...attributes,
      data: data ?? (data_base64 ? Buffer.from(data_base64, 'base64').toString('utf8') : undefined),
    };
  }
  const event = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('ce-')) event[name.slice(3)] = decode(String(value));
  }
  if (contentType) event.datacontenttype = contentType;
  const text = body.toString('utf8');
  if (text !== '') {
    try {
      event.data = contentType.includes('json') ? JSON.parse(text) : text;
    } catch {
      event.data = text;
    }
  }
  return event;
}

function oneLine(name, path, event) {
  const extensions = Object.entries(event)
    .filter(([k]) => !CONTEXT.includes(k) && k !== 'data')
    .map(([k, v]) => `${k}=${v}`);
  const data = event.data === undefined ? '' : JSON.stringify(event.data);
  return [
    `[${name}]`,
    path === '/' ? '' : path,
    event.type,
    event.source,
    `id=${event.id}`,
    ...extensions,
    data,
  ]
    .filter((p) => p !== '')
    .join('  ');
}

/**
 * Serves CloudEvents. `handle(event, path)` returns the HTTP status to answer (default 202); throwing
 * answers 500, which makes the broker retry and, after its retries, dead-letter the event.
 */
export function serveCloudEvents(name, handle = async () => 202) {
  const port = Number(process.env.PORT ?? 8080);
  const eventsLog = process.env.EVENTS_LOG;
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200).end(`${name} ok\n`); // readiness probes and curious browsers
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let status = 202;
      let event;
      try {
        event = toEvent(req, Buffer.concat(chunks));
        console.log(oneLine(name, req.url, event));
        status = (await handle(event, req.url)) ?? 202;
      } catch (err) {
        console.log(`[${name}] failed: ${err.message}`);
        status = 500;
      }
      if (eventsLog && event) {
        appendFileSync(
          eventsLog,
          `${JSON.stringify({ service: name, path: req.url, status, pid: process.pid, ...event })}\n`,
        );
      }
      res.writeHead(status).end();
    });
  });
  server.listen(port, () => console.log(`[${name}] listening on ${port}`));
  // Drain: stop accepting, let in-flight requests finish (idle keep-alive sockets are closed), then exit.
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 20_000).unref();
  });
}
