import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileResourceStore } from './file-resource-store.js';
import { collectableRevisions } from './revision-gc.js';

describe('collectableRevisions', () => {
  it('keeps routed and latest revisions plus the newest N others, per Configuration, owned ones only', () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const store = FileResourceStore.open(mkdtempSync(join(tmpdir(), 'eddy-gc-')), { now: () => new Date(t) });
    const revision = (config: string, n: number, origin: 'owner' | 'api' = 'owner') => {
      const name = `${config}-${String(n).padStart(5, '0')}`;
      t += 1000;
      store.upsert(
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Revision',
          namespace: 'default',
          name,
          resource: {
            metadata: { name, namespace: 'default', labels: { 'serving.knative.dev/configuration': config } },
            spec: {},
          },
        },
        origin === 'owner' ? { type: 'owner', owner: `Configuration/default/${config}` } : { type: 'api' },
      );
    };
    store.upsert(
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Configuration',
        namespace: 'default',
        name: 'a',
        resource: { metadata: { name: 'a', namespace: 'default' }, spec: {} },
      },
      { type: 'api' },
    );
    for (let n = 1; n <= 8; n++) revision('a', n);
    for (let n = 1; n <= 3; n++) revision('b', n);
    revision('mine', 1, 'api');
    store.setStatus('Configuration/default/a', {
      observedGeneration: 8,
      conditions: [],
      latestCreatedRevisionName: 'a-00008',
      latestReadyRevisionName: 'a-00007',
    });
    const contract = {
      revisions: [{ namespace: 'default', name: 'a-00001', routed: true }] as never[],
    };
    // a: 00001 routed, 00007 ready, 00008 created; of 00002..00006 the newest 2 stay.
    expect(collectableRevisions(store, contract, 2).sort()).toEqual([
      'Revision/default/a-00002',
      'Revision/default/a-00003',
      'Revision/default/a-00004',
      'Revision/default/b-00001',
    ]);
    expect(collectableRevisions(store, contract, 20)).toEqual([]);
  });
});
