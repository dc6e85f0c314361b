import { describe, expect, it } from 'vitest';
import { type AddressResolver, resolveDestination } from './address-resolver.js';

const resolver: AddressResolver = {
  resolve: (ref, namespace) => {
    const ns = ref.namespace ?? namespace;
    if (ref.kind === 'Service' && ns === 'default' && ref.name === 'switcher')
      return 'http://127.0.0.1:8080/default/switcher';
    if (ref.kind === 'Broker' && ns === 'shop' && ref.name === 'default')
      return 'http://127.0.0.1:8081/shop/default';
    return undefined;
  },
};

const uri = (u: string) => resolveDestination({ uri: u }, 'default', resolver);

describe('resolveDestination: cluster-local URIs of what Eddy runs', () => {
  it("rewrites a Knative Service's cluster-local host to its address, keeping path and query", () => {
    expect(uri('http://switcher.default.svc.cluster.local/0')).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8080/default/switcher/0',
    });
    expect(uri('http://switcher.default.svc/a/b?x=1')).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8080/default/switcher/a/b?x=1',
    });
    expect(uri('http://switcher.default.svc.cluster.local')).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8080/default/switcher',
    });
  });

  it("rewrites Knative's broker ingress URL to the Broker's address", () => {
    expect(uri('http://broker-ingress.knative-eventing.svc.cluster.local/shop/default')).toEqual({
      ok: true,
      url: 'http://127.0.0.1:8081/shop/default',
    });
  });

  it('leaves alone hosts that name nothing Eddy runs, other ports, https and plain DNS names', () => {
    for (const u of [
      'http://other.default.svc.cluster.local/0',
      'http://switcher.default.svc.cluster.local:8080/0',
      'https://switcher.default.svc.cluster.local/0',
      'http://switcher.default/0',
      'http://broker-ingress.knative-eventing.svc.cluster.local/missing/default',
      'http://example.com/hook',
    ])
      expect(uri(u)).toEqual({ ok: true, url: u });
  });
});
