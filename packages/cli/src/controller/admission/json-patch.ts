/** One RFC 6902 operation, as an AdmissionResponse's `patch` carries them. */
export interface JsonPatchOperation {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

/** RFC 6901: `~` and `/` inside a key (annotation names have slashes). */
const escapeKey = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The operations that turn `before` into `after` where `after` only adds or changes values (defaulting
 * never removes a field; keys missing from `after`, such as explicit nulls Eddy drops, are left alone).
 * Lists of different lengths are replaced whole: defaulting does not insert items into a list.
 */
export function defaultingPatch(before: unknown, after: unknown, path = ''): JsonPatchOperation[] {
  if (isObject(before) && isObject(after)) {
    return Object.entries(after).flatMap(([k, v]) => {
      const at = `${path}/${escapeKey(k)}`;
      const old = before[k];
      return old === undefined || old === null
        ? [{ op: 'add' as const, path: at, value: v }]
        : defaultingPatch(old, v, at);
    });
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length)
    return after.flatMap((v, i) => defaultingPatch(before[i], v, `${path}/${i}`));
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ op: 'replace', path: path, value: after }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
