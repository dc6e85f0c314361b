// The built packages must load in plain Node, not only in vitest: vitest's CommonJS interop hides
// named imports that Node cannot resolve (kafkajs is CommonJS). scripts/test.sh builds first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const packages = ['runtime', 'api', 'broker', 'sources', 'serving', 'dashboard', 'cli'];

describe('built packages load in plain Node', () => {
  for (const name of packages) {
    const entry = path.join(root, 'packages', name, 'dist', 'index.js');
    test(`@eddy/${name} (${path.relative(root, entry)})`, () => {
      expect(existsSync(entry), `${entry} is missing: run pnpm run build first`).toBe(true);
      const result = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `await import(${JSON.stringify(entry)});`],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      expect(result.stderr.split('\n').filter((l) => /Error/.test(l))).toEqual([]);
      expect(result.status).toBe(0);
    });
  }
});
