// The values of the Secrets `eddy dev` was given, kept apart from resources.json: the store keeps a
// Secret redacted (its keys, each value replaced by `<redacted: N bytes>`), and the values live here,
// in `<data dir>/secrets.json`, mode 0600 (owner only), rewritten atomically. A value leaves this
// module only through the ValueStore that resolves `secretKeyRef`s.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

export const SECRETS_FILE = 'secrets.json';
const SECRETS_VERSION = 1;

/** Values by store key (`Secret/<namespace>/<name>`), then by Secret key. */
export class SecretValues {
  readonly file: string;
  readonly #values = new Map<string, Map<string, Buffer>>();
  #dirty = false;

  private constructor(dataDir: string) {
    this.file = join(dataDir, SECRETS_FILE);
  }

  /** Reads the data dir's file; a damaged one is an error naming it (its content is never shown). */
  static open(dataDir: string): SecretValues {
    const values = new SecretValues(dataDir);
    let text: string | undefined;
    try {
      text = readFileSync(values.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text === undefined) return values;
    const damaged = (why: string) =>
      new Error(`secret store ${values.file} ${why}; move it away to start without Secret values`);
    let data: { version?: unknown; secrets?: unknown };
    try {
      data = JSON.parse(text) as typeof data;
    } catch {
      throw damaged('is not valid JSON');
    }
    if (data.version !== SECRETS_VERSION || !data.secrets || typeof data.secrets !== 'object')
      throw damaged(`has an unknown format (expected version ${SECRETS_VERSION})`);
    for (const [key, entries] of Object.entries(data.secrets as Record<string, unknown>)) {
      if (!entries || typeof entries !== 'object') throw damaged(`has a bad entry for ${key}`);
      const map = new Map<string, Buffer>();
      for (const [k, v] of Object.entries(entries as Record<string, unknown>)) {
        if (typeof v !== 'string') throw damaged(`has a bad value for ${key} key ${k}`);
        map.set(k, Buffer.from(v, 'base64'));
      }
      values.#values.set(key, map);
    }
    return values;
  }

  get(key: string): ReadonlyMap<string, Buffer> | undefined {
    return this.#values.get(key);
  }

  /** Whether `values` differ from what is kept for `key`. */
  differs(key: string, values: ReadonlyMap<string, Buffer>): boolean {
    const kept = this.#values.get(key);
    if (!kept || kept.size !== values.size) return true;
    for (const [k, v] of values) if (!kept.get(k)?.equals(v)) return true;
    return false;
  }

  set(key: string, values: ReadonlyMap<string, Buffer>): void {
    if (!this.differs(key, values)) return;
    this.#values.set(key, new Map(values));
    this.#dirty = true;
  }

  delete(key: string): void {
    if (this.#values.delete(key)) this.#dirty = true;
  }

  /** Drops the values of Secrets that are no longer stored (e.g. deleted while the file was not written). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of [...this.#values.keys()]) if (!keys.has(key)) this.delete(key);
  }

  /** Writes the file if anything changed since the last write. */
  flush(): void {
    if (!this.#dirty) return;
    const secrets = Object.fromEntries(
      [...this.#values]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, map]) => [key, Object.fromEntries([...map].map(([k, v]) => [k, v.toString('base64')]))]),
    );
    writeFileAtomic(this.file, `${JSON.stringify({ version: SECRETS_VERSION, secrets }, null, 1)}\n`);
    this.#dirty = false;
  }
}
