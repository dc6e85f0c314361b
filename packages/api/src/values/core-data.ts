// The values inside Secrets and ConfigMaps: decoding them (a Secret's `data` is base64 and its
// `stringData` plain text merged over it, as the Kubernetes API server does; a ConfigMap has text
// `data` and base64 `binaryData`) and the redacted form of a Secret that is safe to store and show:
// every key kept, each value replaced by `<redacted: N bytes>`.

import type { ConfigMap, Secret } from '../resources/schemas/core.js';

/** Standard base64 (RFC 4648, with padding). Line breaks are ignored, as Go's decoder ignores them. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether `text` is standard base64 once line breaks are removed. */
export function isBase64(text: string): boolean {
  return BASE64.test(text.replace(/[\r\n]/g, ''));
}

/** Decodes standard base64 (line breaks ignored); undefined when it is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

/** Keys to bytes: what a Secret or a ConfigMap holds. */
export type DataValues = ReadonlyMap<string, Buffer>;

type SecretShape = Pick<Secret, 'data' | 'stringData'>;
type ConfigMapShape = Pick<ConfigMap, 'data' | 'binaryData'>;

/** A Secret's values: `data` decoded, then `stringData` over it. Undecodable entries are left out (the loader rejects them). */
export function secretValues(secret: SecretShape): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    const bytes = typeof value === 'string' ? decodeBase64(value) : undefined;
    if (bytes) out.set(key, bytes);
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {}))
    if (typeof value === 'string') out.set(key, Buffer.from(value, 'utf8'));
  return out;
}

/** A ConfigMap's values: `data` as UTF-8, `binaryData` decoded. */
export function configMapValues(configMap: ConfigMapShape): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(configMap.data ?? {}))
    if (typeof value === 'string') out.set(key, Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) {
    const bytes = typeof value === 'string' ? decodeBase64(value) : undefined;
    if (bytes) out.set(key, bytes);
  }
  return out;
}

const REDACTED = /^<redacted: (\d+) bytes?>$/;

/** What a redacted Secret shows instead of a value. */
export function redactedValue(size: number): string {
  return `<redacted: ${size} byte${size === 1 ? '' : 's'}>`;
}

/**
 * A Secret object with its values taken out: `data` lists every key (of `data` and `stringData`) with
 * `<redacted: N bytes>` as its value, `stringData` is gone, everything else stays. `values` are the
 * decoded values, for whoever keeps them apart.
 */
export function redactSecret<T extends Record<string, unknown>>(
  secret: T,
): { redacted: T; values: Map<string, Buffer> } {
  const values = secretValues(secret as SecretShape);
  const { data: _data, stringData: _stringData, ...rest } = secret;
  const data = Object.fromEntries(
    [...values]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, redactedValue(v.length)]),
  );
  return { redacted: { ...rest, ...(values.size > 0 ? { data } : {}) } as unknown as T, values };
}

/** The keys of a redacted Secret's `data` and the size of each value (undefined for a value that is not redacted). */
export function redactedSizes(data: Record<string, unknown> | undefined): [string, number | undefined][] {
  return Object.entries(data ?? {}).map(([key, value]) => {
    const m = typeof value === 'string' ? REDACTED.exec(value) : null;
    return [key, m ? Number(m[1]) : undefined];
  });
}
