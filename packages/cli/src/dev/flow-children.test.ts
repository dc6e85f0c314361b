import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileResourceStore } from './file-resource-store.js';
import { reconcileFlowChildren } from './flow-children.js';
import { writeChildren } from './reconcile-children.js';

const sequence = (steps: string[]) => ({
  apiVersion: 'flows.knative.dev/v1',
  kind: 'Sequence',
  namespace: 'default',
  name: 'seq',
  resource: {
    apiVersion: 'flows.knative.dev/v1',
    kind: 'Sequence',
    metadata: { name: 'seq', namespace: 'default' },
    spec: { steps: steps.map((uri) => ({ uri })) },
  },
});

const names = (store: FileResourceStore) =>
  store
    .list()
    .filter((e) => e.origin.type === 'owner')
    .map((e) => e.key)
    .sort();

describe('reconcileFlowChildren', () => {
  it("stores a Sequence's channels and subscriptions as its own, and drops those of a removed step", () => {
    const store = FileResourceStore.open(mkdtempSync(join(tmpdir(), 'eddy-flows-')));
    store.upsert(sequence(['http://a/', 'http://b/']), { type: 'api' });
    expect(reconcileFlowChildren(store, store.contractInputs())).toBe(true);
    expect(names(store)).toEqual([
      'InMemoryChannel/default/seq-kn-sequence-0',
      'InMemoryChannel/default/seq-kn-sequence-1',
      'Subscription/default/seq-kn-sequence-0',
      'Subscription/default/seq-kn-sequence-1',
    ]);
    expect(reconcileFlowChildren(store, store.contractInputs())).toBe(false);

    store.upsert(sequence(['http://a/']), { type: 'api' });
    expect(reconcileFlowChildren(store, store.contractInputs())).toBe(true);
    expect(names(store)).toEqual([
      'InMemoryChannel/default/seq-kn-sequence-0',
      'Subscription/default/seq-kn-sequence-0',
    ]);
  });

  it("serving's children pass leaves the flows' children alone", () => {
    const store = FileResourceStore.open(mkdtempSync(join(tmpdir(), 'eddy-flows-')));
    store.upsert(sequence(['http://a/']), { type: 'api' });
    reconcileFlowChildren(store, store.contractInputs());
    expect(writeChildren(store, [])).toBe(false);
    expect(names(store)).toHaveLength(2);
  });
});
