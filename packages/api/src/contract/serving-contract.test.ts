import { describe, expect, it } from 'vitest';
import type { DispatchRoute } from './data-plane-contract.js';
import {
  backlogInFlightLimit,
  checkServingContract,
  routesFeedingService,
  type ServingContract,
  type ServingRevision,
  withBacklogRoutes,
} from './serving-contract.js';

function route(id: string, service: string | undefined, extra: Partial<DispatchRoute> = {}): DispatchRoute {
  return {
    kind: 'Trigger',
    namespace: 'default',
    name: id,
    id: `default/${id}`,
    topic: 't',
    group: `g-${id}`,
    subscriber: 'http://x',
    ...(service
      ? {
          subscriberRef: {
            apiVersion: 'serving.knative.dev/v1',
            kind: 'Service',
            namespace: 'default',
            name: service,
          },
        }
      : {}),
    reply: { kind: 'drop' },
    delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 1000 },
    ordering: 'unordered',
    maxInFlight: 100,
    startFrom: 'latest',
    ...extra,
  };
}

const revision = (name: string) =>
  ({ namespace: 'default', name, backlog: [] }) as unknown as ServingRevision;

describe('routesFeedingService', () => {
  it('selects routes whose subscriber ref is that Service only', () => {
    const routes = [
      route('a', 'orders'),
      route('b', 'display'),
      route('c', undefined),
      route('d', 'orders', {
        subscriberRef: { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'orders' },
      }),
    ];
    expect(routesFeedingService({ routes }, 'default', 'orders').map((r) => r.id)).toEqual(['default/a']);
  });
});

describe('withBacklogRoutes', () => {
  it('shares a route among the revisions of the Service by percent, tag-only targets get none', () => {
    const serving: ServingContract = {
      generation: 1,
      revisions: [revision('orders-00001'), revision('orders-00002'), revision('orders-00003')],
      routes: [
        {
          namespace: 'default',
          name: 'orders',
          traffic: [
            { revisionName: 'orders-00001', percent: 90, latestRevision: false },
            { revisionName: 'orders-00002', percent: 10, latestRevision: true },
            { revisionName: 'orders-00003', percent: 0, tag: 'next', latestRevision: false },
          ],
        },
      ],
    };
    const routes = [route('a', 'orders'), route('o', 'orders', { ordering: 'ordered' })];
    const out = withBacklogRoutes(serving, { routes });
    expect(out.revisions.map((r) => r.backlog)).toEqual([
      [
        { routeId: 'default/a', group: 'g-a', topic: 't', share: 0.9, maxInFlight: 100 },
        { routeId: 'default/o', group: 'g-o', topic: 't', share: 0.9 },
      ],
      [
        { routeId: 'default/a', group: 'g-a', topic: 't', share: 0.1, maxInFlight: 100 },
        { routeId: 'default/o', group: 'g-o', topic: 't', share: 0.1 },
      ],
      [],
    ]);
  });
});

describe('backlogInFlightLimit', () => {
  it('sums maxInFlight x share, and is unknown when any route is unbounded or none feeds', () => {
    const at = { group: 'g', topic: 't' };
    expect(
      backlogInFlightLimit([
        { routeId: 'a', ...at, share: 0.5, maxInFlight: 100 },
        { routeId: 'b', ...at, share: 1, maxInFlight: 20 },
      ]),
    ).toBe(70);
    expect(
      backlogInFlightLimit([
        { routeId: 'a', ...at, share: 1, maxInFlight: 100 },
        { routeId: 'o', ...at, share: 1 },
      ]),
    ).toBe(undefined);
    expect(backlogInFlightLimit([])).toBe(undefined);
  });
});

describe('checkServingContract', () => {
  it('takes a contract and names the first bad field by its path', () => {
    const rev = {
      namespace: 'n',
      name: 'r-00001',
      configuration: 'r',
      command: ['node'],
      args: [],
      env: {},
      readiness: {},
      scaling: {},
      containerConcurrency: 0,
      timeoutMs: 1000,
      terminationGraceMs: 1000,
      backlog: [{ routeId: 'n/t', group: 'g', topic: 't', share: 1 }],
    };
    const ok = { generation: 1, revisions: [rev], routes: [{ namespace: 'n', name: 'r', traffic: [] }] };
    expect(() => checkServingContract(ok)).not.toThrow();
    expect(() => checkServingContract([])).toThrow(
      'serving contract: the contract must be an object, got []',
    );
    expect(() => checkServingContract({ ...ok, generation: '1' })).toThrow(
      'serving contract: generation must be a number, got "1"',
    );
    expect(() =>
      checkServingContract({
        ...ok,
        revisions: [{ ...rev, backlog: [{ routeId: 'n/t', topic: 't', share: 1 }] }],
      }),
    ).toThrow('serving contract: revisions[0].backlog[0].group must be a non-empty string, got nothing');
    expect(() =>
      checkServingContract({
        ...ok,
        routes: [{ namespace: 'n', name: 'r', traffic: [{ revisionName: 'x' }] }],
      }),
    ).toThrow('serving contract: routes[0].traffic[0].percent must be a number, got nothing');
  });
});
