import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSourceRegistry, createSourceRunner } from '@eddy/sources';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FileResourceStore } from './file-resource-store.js';
import { Reconciler } from './reconciler.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Reconciler', () => {
  it('tries a failed pass again with backoff, with nothing changed meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-reconciler-'));
    dirs.push(dir);
    const store = FileResourceStore.open(dir);
    let reads = 0;
    const inputs = store.contractInputs.bind(store);
    store.contractInputs = () => {
      reads++;
      if (reads === 1) throw new Error('the API server answered 503');
      return inputs();
    };
    const logger = pino({ level: 'silent' });
    const runner = createSourceRunner({ adapters: createSourceRegistry(), logger });
    const reconciler = new Reconciler({
      store,
      broker: {
        url: 'http://127.0.0.1:1',
        apply: async (c) => ({ applied: true, generation: c.generation }),
      },
      runner,
      isSourceKind: () => false,
      logger,
      // Nothing else may cause a second pass: no source health polling within the test.
      sourcePollMs: 60_000,
    });
    try {
      reconciler.start();
      const started = Date.now();
      while (reads < 2 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
      expect(reads).toBe(2);
      // The first retry waits the first backoff step (500 ms), not a tight loop.
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(reconciler.eventingContract).toBeDefined();
    } finally {
      await reconciler.close();
      await runner.close();
    }
  });
});
