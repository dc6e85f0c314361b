import { describe, expect, it } from 'vitest';
import { KINDS } from '../resources/kinds.js';
import { crdKinds, crdNames, kindForResource } from './crd-names.js';

describe('crdNames', () => {
  it('names a CRD for every non-core kind, with unique CRD names', () => {
    const kinds = crdKinds();
    expect(kinds.map((k) => k.definition.kind).sort()).toEqual(
      KINDS.filter((k) => k.group !== '')
        .map((k) => k.kind)
        .sort(),
    );
    expect(new Set(kinds.map((k) => k.names.crdName)).size).toBe(kinds.length);
  });

  it("uses Knative's names and short names, never a core short name", () => {
    const byKind = (kind: string) => crdNames(KINDS.find((k) => k.kind === kind)!);
    expect(byKind('Service')).toMatchObject({
      crdName: 'services.serving.knative.dev',
      shortNames: ['ksvc', 'kservice'],
      categories: ['all', 'knative', 'serving', 'eddy'],
      listKind: 'ServiceList',
    });
    expect(byKind('InMemoryChannel').shortNames).toEqual(['imc']);
    expect(byKind('InMemoryChannel').categories).toContain('channel');
    expect(byKind('Route').shortNames).toEqual(['rt']);
    expect(byKind('PingSource')).toMatchObject({ version: 'v1', versions: ['v1', 'v1beta2'] });
    expect(() => byKind('Secret')).toThrow(/core kind/);
  });

  it('finds a kind by group and plural', () => {
    expect(kindForResource('eventing.knative.dev', 'triggers')?.kind).toBe('Trigger');
    expect(kindForResource('eventing.knative.dev', 'services')).toBeUndefined();
  });
});
