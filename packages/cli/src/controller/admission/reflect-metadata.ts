// @peculiar/x509 registers its algorithms through tsyringe, which refuses to load unless a Reflect
// metadata API exists (it reads `design:paramtypes`, which nothing in x509 emits, and its own
// `injectionTokens`). Rather than a polyfill package for three functions, this installs just them,
// only when no polyfill is already present. Imported before @peculiar/x509, for its side effect.

type Metadata = Map<unknown, unknown>;
const store = new WeakMap<object, Metadata>();

interface ReflectMetadataApi {
  getMetadata?: (key: unknown, target: object) => unknown;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
}

const api = Reflect as unknown as ReflectMetadataApi;
if (typeof api.getMetadata !== 'function') {
  api.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  api.defineMetadata = (key, value, target) => {
    const own = store.get(target) ?? new Map();
    own.set(key, value);
    store.set(target, own);
  };
  // Own metadata first, then up the prototype chain, as reflect-metadata does.
  api.getMetadata = (key, target) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      const own = store.get(t);
      if (own?.has(key)) return own.get(key);
    }
    return undefined;
  };
}
