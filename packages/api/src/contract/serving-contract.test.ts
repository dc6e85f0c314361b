import { describe, expect, it } from 'vitest';
import type { DispatchRoute } from './data-plane-contract.js';
import {
  backlogInFlightLimit,
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
        { routeId: 'default/a', share: 0.9, maxInFlight: 100 },
        { routeId: 'default/o', share: 0.9 },
      ],
      [
        { routeId: 'default/a', share: 0.1, maxInFlight: 100 },
        { routeId: 'default/o', share: 0.1 },
      ],
      [],
    ]);
  });
});

describe('backlogInFlightLimit', () => {
  it('sums maxInFlight x share, and is unknown when any route is unbounded or none feeds', () => {
    expect(
      backlogInFlightLimit([
        { routeId: 'a', share: 0.5, maxInFlight: 100 },
        { routeId: 'b', share: 1, maxInFlight: 20 },
      ]),
    ).toBe(70);
    expect(
      backlogInFlightLimit([
        { routeId: 'a', share: 1, maxInFlight: 100 },
        { routeId: 'o', share: 1 },
      ]),
    ).toBe(undefined);
    expect(backlogInFlightLimit([])).toBe(undefined);
  });
});
