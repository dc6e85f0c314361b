import { describe, expect, it } from 'vitest';
import {
  bindWorkload,
  matchesLabelSelector,
  type ResolvedSinkBinding,
  sinkBindingSelects,
  withBindingEnv,
} from './sink-binding.js';

const svc = (name: string, labels: Record<string, string> = {}, namespace = 'demo') => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  namespace,
  name,
  labels,
});

const byName: ResolvedSinkBinding = {
  namespace: 'demo',
  name: 'b-by-name',
  subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'emitter' },
  sink: 'http://127.0.0.1:8080/demo/default',
  ceOverrides: { extensions: { team: 'blue' } },
};

const bySelector: ResolvedSinkBinding = {
  namespace: 'demo',
  name: 'a-by-selector',
  subject: {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    selector: {
      matchLabels: { app: 'emitter' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }],
    },
  },
  sink: 'http://127.0.0.1:8080/demo/other',
};

describe('SinkBinding', () => {
  it('selects by apiVersion, kind, namespace and name', () => {
    expect(sinkBindingSelects(byName, svc('emitter'))).toBe(true);
    expect(sinkBindingSelects(byName, svc('other'))).toBe(false);
    expect(sinkBindingSelects(byName, svc('emitter', {}, 'prod'))).toBe(false);
    expect(sinkBindingSelects(byName, { ...svc('emitter'), apiVersion: 'apps/v1', kind: 'Deployment' })).toBe(
      false,
    );
  });

  it('selects by label selector (matchLabels and matchExpressions)', () => {
    expect(sinkBindingSelects(bySelector, svc('x', { app: 'emitter', tier: 'web' }))).toBe(true);
    expect(sinkBindingSelects(bySelector, svc('x', { app: 'emitter', tier: 'db' }))).toBe(false);
    expect(sinkBindingSelects(bySelector, svc('x', { tier: 'web' }))).toBe(false);
    expect(matchesLabelSelector({}, { any: 'thing' })).toBe(true);
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {}),
    ).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { a: '' })).toBe(
      true,
    );
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' }),
    ).toBe(false);
    expect(() =>
      matchesLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Gt' as 'In' }] }, {}),
    ).toThrow(/matchExpressions\[0\]\.operator: expected In, NotIn, Exists or DoesNotExist, found "Gt"/);
  });

  it('computes K_SINK and K_CE_OVERRIDES; the first binding by name wins and the rest are reported', () => {
    expect(bindWorkload(svc('emitter'), [byName])).toEqual({
      env: { K_SINK: byName.sink, K_CE_OVERRIDES: '{"extensions":{"team":"blue"}}' },
      boundBy: 'demo/b-by-name',
      conflicts: [],
    });
    const both = svc('emitter', { app: 'emitter', tier: 'web' });
    expect(bindWorkload(both, [byName, bySelector])).toEqual({
      env: { K_SINK: bySelector.sink },
      boundBy: 'demo/a-by-selector',
      conflicts: ['demo/b-by-name'],
    });
    expect(bindWorkload(svc('nobody'), [byName, bySelector])).toEqual({ env: {}, conflicts: [] });
  });

  it('replaces same-named env in place and appends the rest', () => {
    const env = [
      { name: 'A', value: '1' },
      { name: 'K_SINK', value: 'http://old/' },
    ];
    expect(withBindingEnv(env, { K_SINK: 'http://new/', K_CE_OVERRIDES: '{}' })).toEqual([
      { name: 'A', value: '1' },
      { name: 'K_SINK', value: 'http://new/' },
      { name: 'K_CE_OVERRIDES', value: '{}' },
    ]);
  });
});
