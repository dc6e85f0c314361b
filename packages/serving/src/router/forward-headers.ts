// Header rewriting of the proxy: hop-by-hop headers (RFC 9110 7.6.1, plus those the Connection header
// names) stay on their hop; everything else, traceparent included, passes through unchanged.

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The router answers `Expect: 100-continue` itself (node does), so the replica must not wait for it.
  'expect',
]);

function connectionListed(rawHeaders: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) listed.add(name);
    }
  }
  return listed;
}

export interface ForwardContext {
  clientAddress: string | undefined;
  /** The scheme the router was reached with. */
  protocol: string;
  /** The stripped path prefix, '' when none. */
  prefix: string;
}

/**
 * Request headers for the replica, as a flat [name, value, ...] list (case and order kept). The
 * X-Forwarded-* headers describe the client's view: For appends the client address, Proto and Host
 * are kept when a proxy in front already set them, Prefix appends the stripped prefix.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], context: ForwardContext): string[] {
  const drop = connectionListed(rawHeaders);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedPrefix: string | undefined;
  let host: string | undefined;
  let hasProto = false;
  let hasForwardedHost = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (lower === 'x-forwarded-prefix') {
      forwardedPrefix = value;
      continue;
    }
    if (lower === 'host') host = value;
    if (lower === 'x-forwarded-proto') hasProto = true;
    if (lower === 'x-forwarded-host') hasForwardedHost = true;
    out.push(name, value);
  }
  const client = context.clientAddress;
  if (client) forwardedFor = forwardedFor === undefined ? client : `${forwardedFor}, ${client}`;
  if (forwardedFor !== undefined) out.push('x-forwarded-for', forwardedFor);
  if (!hasProto) out.push('x-forwarded-proto', context.protocol);
  if (!hasForwardedHost && host !== undefined) out.push('x-forwarded-host', host);
  if (context.prefix) {
    const outer = forwardedPrefix?.replace(/\/+$/, '') ?? '';
    out.push('x-forwarded-prefix', `${outer}${context.prefix}`);
  } else if (forwardedPrefix !== undefined) {
    out.push('x-forwarded-prefix', forwardedPrefix);
  }
  return out;
}

/** Response headers for the client: the replica's, minus hop-by-hop ones. */
export function downstreamResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const connection = headers.connection;
  const drop = connectionListed(
    connection === undefined
      ? []
      : ['connection', Array.isArray(connection) ? connection.join(',') : connection],
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    out[name] = value;
  }
  return out;
}
