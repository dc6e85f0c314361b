// The `namespace/name` key and the namespace-then-name order the control planes use for their maps and for
// emitting contract entries in a stable order (the order is by code unit, so it never depends on a locale).

/** `default/display`: the key of a namespaced object in a map. */
export function namespacedKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts namespaced objects by namespace, then name. */
export function byNamespaceThenName<T extends { namespace: string; name: string }>(a: T, b: T): number {
  return compare(a.namespace, b.namespace) || compare(a.name, b.name);
}
