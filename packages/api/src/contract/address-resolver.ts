// Turning Destinations (`ref` and/or `uri`) into URLs, as Knative's URIResolver does for the kinds the
// control plane knows.

import type { Destination, KReference } from '../resources/schemas/common.js';

/** Resolves a reference to an addressable object into its URL. */
export interface AddressResolver {
  /** The URL of `ref` (whose namespace defaults to `namespace`), or undefined when it has none. */
  resolve(ref: KReference, namespace: string): string | undefined;
  /** Why `resolve` returned undefined, for status messages (optional). */
  describeFailure?(ref: KReference, namespace: string): string;
  /** The OIDC audience of `ref`'s address (Knative's `status.address.audience`), when it has one. */
  audience?(ref: KReference, namespace: string): string | undefined;
  /** The PEM CAs that verify `ref`'s https address (Knative's `status.address.CACerts`), if it has them. */
  caCerts?(ref: KReference, namespace: string): string | undefined;
}

/**
 * What a lookup of a reference gives: its URL (with its OIDC audience, if any, and the CAs that verify
 * it when https), or why it has none.
 */
export type AddressLookup = { url: string; audience?: string; caCerts?: string } | { why: string };

/** An AddressResolver over one lookup function that says both the URL and why there is none. */
export function resolverFromLookup(
  lookup: (ref: KReference, namespace: string) => AddressLookup,
): AddressResolver {
  return {
    resolve: (ref, namespace) => {
      const r = lookup(ref, namespace);
      return 'url' in r ? r.url : undefined;
    },
    describeFailure: (ref, namespace) => {
      const r = lookup(ref, namespace);
      return 'why' in r ? r.why : '';
    },
    audience: (ref, namespace) => {
      const r = lookup(ref, namespace);
      return 'url' in r ? r.audience : undefined;
    },
    caCerts: (ref, namespace) => {
      const r = lookup(ref, namespace);
      return 'url' in r ? r.caCerts : undefined;
    },
  };
}

/**
 * A resolved Destination. `audience` is the OIDC audience a sender's token must name: the Destination's
 * own `audience`, else its ref's address audience (set only when authentication is on). `caCerts`: the
 * Destination's own `CACerts`, else those of the address its ref resolved to.
 */
export type DestinationResult =
  | { ok: true; url: string; audience?: string; caCerts?: string }
  | { ok: false; message: string };

/** `Service default/display (serving.knative.dev/v1)` */
export function describeRef(ref: KReference, namespace: string): string {
  return `${ref.kind} ${ref.namespace ?? namespace}/${ref.name} (${ref.apiVersion})`;
}

function isAbsolute(uri: string): boolean {
  try {
    return new URL(uri).host !== '';
  } catch {
    return false;
  }
}

/**
 * Appends a relative `uri` to a ref's URL: `/path` or `path` continue the ref URL's path, `?q` and `#f`
 * replace its query and fragment. For an address without a path (a Knative Service's
 * `http://svc.ns.svc.cluster.local`) this is exactly what Knative's URL resolution gives; for Eddy's
 * path-based ingress URLs (`http://host/<ns>/<broker>`) it keeps the prefix, which RFC 3986 resolution
 * would drop.
 */
export function appendRelativeUri(base: string, relative: string): string {
  const url = new URL(base);
  const parts = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(relative);
  const [, path = '', query, fragment] = parts ?? [];
  if (path !== '') {
    const prefix = url.pathname.replace(/\/+$/, '');
    url.pathname = `${prefix}/${path.replace(/^\/+/, '')}`;
  }
  if (query !== undefined) url.search = query;
  if (fragment !== undefined) url.hash = fragment;
  return url.toString();
}

/**
 * Knative's Destination resolution: an absolute `uri` alone; a `ref` resolved by `resolver`, with an
 * optional relative `uri` appended. `namespace` is the namespace of the resource holding the Destination.
 */
export function resolveDestination(
  dest: Destination | undefined,
  namespace: string,
  resolver: AddressResolver,
): DestinationResult {
  if (!dest || (!dest.ref && dest.uri === undefined))
    return { ok: false, message: 'destination has neither "ref" nor "uri"' };
  if (!dest.ref) {
    const uri = dest.uri ?? '';
    if (!isAbsolute(uri)) return { ok: false, message: `URI ${JSON.stringify(uri)} is not absolute` };
    return resolved(clusterLocalUri(uri, resolver) ?? uri, dest.audience, dest.CACerts);
  }
  const ref = dest.ref;
  const url = resolver.resolve(ref, namespace);
  if (url === undefined) {
    const why = resolver.describeFailure?.(ref, namespace) ?? 'not found or not addressable';
    return { ok: false, message: `${describeRef(ref, namespace)}: ${why}` };
  }
  const audience = dest.audience || resolver.audience?.(ref, namespace);
  const caCerts = dest.CACerts ?? resolver.caCerts?.(ref, namespace);
  if (dest.uri === undefined || dest.uri === '') return resolved(url, audience, caCerts);
  if (isAbsolute(dest.uri))
    return {
      ok: false,
      message: `absolute URI ${JSON.stringify(dest.uri)} is not allowed together with "ref"`,
    };
  return resolved(appendRelativeUri(url, dest.uri), audience, caCerts);
}

/** CAs matter only to an https URL: an http one never carries them into the contract. */
function resolved(url: string, audience: string | undefined, caCerts: string | undefined): DestinationResult {
  return {
    ok: true,
    url,
    ...(audience ? { audience } : {}),
    ...(caCerts !== undefined && url.startsWith('https:') ? { caCerts } : {}),
  };
}

const CLUSTER_LOCAL =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;
/** Knative's broker ingress Service, `http://broker-ingress.knative-eventing.svc.cluster.local/<ns>/<broker>`. */
const KNATIVE_BROKER_INGRESS = { name: 'broker-ingress', namespace: 'knative-eventing' };

/**
 * A URI naming a cluster-local Service, as Knative manifests write their subscribers and sinks
 * (`http://<service>.<namespace>.svc.cluster.local/path`), is where that Knative Service or Broker
 * really is when Eddy runs it: Eddy's router and ingress are addressed by path, not by a Kubernetes
 * Service per resource, so such a URI is rewritten to the resolved address (path and query kept).
 * Hosts that name nothing Eddy runs are left alone (a real cluster Service, or DNS).
 */
function clusterLocalUri(uri: string, resolver: AddressResolver): string | undefined {
  const url = new URL(uri);
  if (url.protocol !== 'http:' || (url.port !== '' && url.port !== '80')) return undefined;
  const m = CLUSTER_LOCAL.exec(url.hostname);
  const name = m?.[1];
  const namespace = m?.[3];
  if (name === undefined || namespace === undefined) return undefined;
  const rest = `${url.pathname}${url.search}`;
  if (name === KNATIVE_BROKER_INGRESS.name && namespace === KNATIVE_BROKER_INGRESS.namespace) {
    const [, brokerNamespace, broker, ...tail] = url.pathname.split('/');
    if (!brokerNamespace || !broker) return undefined;
    const base = resolver.resolve(
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker, namespace: brokerNamespace },
      brokerNamespace,
    );
    const relative = `${tail.length > 0 ? `/${tail.join('/')}` : ''}${url.search}`;
    if (base === undefined) return undefined;
    return relative === '' ? base : appendRelativeUri(base, relative);
  }
  const base = resolver.resolve(
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace },
    namespace,
  );
  return base === undefined ? undefined : rest === '/' ? base : appendRelativeUri(base, rest);
}
