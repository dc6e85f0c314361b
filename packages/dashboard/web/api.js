// The admin API as the page uses it. Requests carry the session cookie (same origin); the token
// never reaches the page except when typed into the login form.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(res) {
  const body = await res.json().catch(() => undefined);
  return new ApiError(res.status, body?.error ?? `${res.status} ${res.statusText}`);
}

export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** Exchanges the admin token for a session cookie. */
export async function login(token) {
  const res = await fetch('/dashboard/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!res.ok) throw await errorOf(res);
}

export function describe(node) {
  const path = [node.kind, node.namespace, node.name].map(encodeURIComponent).join('/');
  return getJson(`/v1/describe/${path}`);
}

/** Follows GET /v1/topology/stream; EventSource reconnects by itself. Returns the stop. */
export function watchTopology(onTopology, onState) {
  const source = new EventSource('/v1/topology/stream');
  source.addEventListener('topology', (e) => onTopology(JSON.parse(e.data)));
  source.onopen = () => onState('live');
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  return () => source.close();
}

/**
 * Streams GET /v1/tail (NDJSON): onLive once the server tails, onEvent per CloudEvent. Rejects with
 * the API's error (a bad filter's 400 names its position); resolves when the stream ends.
 */
export async function tail({ namespace, broker, filter }, { onLive, onEvent }, signal) {
  const params = new URLSearchParams({ namespace, broker });
  if (filter) params.set('filter', filter);
  const res = await fetch(`/v1/tail?${params}`, { signal });
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const parsed = JSON.parse(line);
      if (parsed.tailing !== undefined) onLive(parsed.tailing);
      else onEvent(parsed);
    }
  }
}
