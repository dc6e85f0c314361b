import { createHash } from 'node:crypto';
import type { ContractInput } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import type { ObservedEventType } from '../ingress/event-type-recorder.js';
import {
  autoCreatedEventTypeName,
  autoCreateFromFeatures,
  eventTypeStatuses,
  eventTypesToCreate,
  formatRate,
  mergeObservations,
} from './event-types.js';

const input = (
  apiVersion: string,
  kind: string,
  name: string,
  rest: Record<string, unknown> = {},
  namespace = 'default',
): ContractInput => ({
  apiVersion,
  kind,
  namespace,
  name,
  resource: {
    apiVersion,
    kind,
    ...rest,
    metadata: { name, namespace, ...(rest.metadata as object) },
  },
});
const broker = (name: string) =>
  input('eventing.knative.dev/v1', 'Broker', name, { metadata: { uid: `uid-${name}` } });
const eventType = (name: string, spec: Record<string, unknown>) =>
  input('eventing.knative.dev/v1beta3', 'EventType', name, { spec });
const REQUIRED = ['type', 'source', 'specversion', 'id'].map((n) => ({ name: n, required: true }));

const T0 = Date.parse('2026-12-07T10:00:00Z');
const seen = (type: string, o: Partial<ObservedEventType> = {}): ObservedEventType => ({
  kind: 'broker',
  namespace: 'default',
  name: 'default',
  type,
  source: '/orders',
  specversion: '1.0',
  firstSeen: T0,
  lastSeen: T0 + 5000,
  count: 4,
  rate: 0.5,
  ...o,
});

describe('EventType status', () => {
  it('ReferenceExists is True for a stored reference, and the matching events are summed in annotations', () => {
    const statuses = eventTypeStatuses(
      [
        broker('default'),
        eventType('created', {
          reference: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' },
          attributes: [...REQUIRED.slice(1), { name: 'type', value: 'order.{what}', required: true }],
        }),
      ],
      [
        seen('order.created'),
        seen('order.paid', { firstSeen: T0 - 1000, count: 1, rate: 0.25 }),
        seen('user.created'),
      ],
    );
    expect(statuses.get('EventType/default/created')).toEqual({
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'ReferenceExists', status: 'True' },
      ],
      annotations: {
        'eddy.dev/first-seen': '2026-12-07T09:59:59.000Z',
        'eddy.dev/last-seen': '2026-12-07T10:00:05.000Z',
        'eddy.dev/events': '5',
        'eddy.dev/rate': '0.75',
      },
    });
  });

  it('a missing reference makes Ready False with ResourceDoesNotExist naming it; none is ReferenceNotSet', () => {
    const statuses = eventTypeStatuses(
      [
        eventType('lost', {
          reference: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'gone' },
          attributes: REQUIRED,
        }),
        eventType('free', { attributes: REQUIRED }),
      ],
      [seen('order.created', { name: 'gone' })],
    );
    const message = 'spec.reference: Broker default/gone (eventing.knative.dev/v1) does not exist';
    expect(statuses.get('EventType/default/lost')?.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'ResourceDoesNotExist', message },
      { type: 'ReferenceExists', status: 'False', reason: 'ResourceDoesNotExist', message },
    ]);
    expect(statuses.get('EventType/default/free')).toEqual({
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'True' },
        {
          type: 'ReferenceExists',
          status: 'True',
          reason: 'ReferenceNotSet',
          message: 'spec.reference is not set',
        },
      ],
    });
  });
});

describe('auto-create', () => {
  it('names EventTypes as Knative does: et-<addressable>-<md5(type, source, namespace, name)>', () => {
    const hash = createHash('md5').update('order.created/ordersdefaultdefault').digest('hex');
    expect(autoCreatedEventTypeName('default', 'default', 'order.created', '/orders')).toBe(
      `et-default-${hash}`,
    );
  });

  it('makes one EventType per new (broker, type, source), owned by the broker, with Knative attributes', () => {
    const existing = eventType(autoCreatedEventTypeName('default', 'default', 'order.paid', '/orders'), {
      attributes: REQUIRED,
    });
    const created = eventTypesToCreate(
      [
        seen('order.created', { schema: 'https://schemas/order' }),
        seen('order.created', { schema: 'https://schemas/order-v2' }),
        seen('order.paid'),
        seen('order.created', { name: 'deleted-broker' }),
      ],
      [broker('default'), existing],
    );
    const name = autoCreatedEventTypeName('default', 'default', 'order.created', '/orders');
    expect(created).toEqual([
      {
        apiVersion: 'eventing.knative.dev/v1beta3',
        kind: 'EventType',
        namespace: 'default',
        name,
        resource: {
          apiVersion: 'eventing.knative.dev/v1beta3',
          kind: 'EventType',
          metadata: {
            name,
            namespace: 'default',
            ownerReferences: [
              { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', uid: 'uid-default' },
            ],
          },
          spec: {
            attributes: [
              { name: 'type', value: 'order.created', required: true },
              { name: 'source', value: '/orders', required: true },
              { name: 'schemadata', value: 'https://schemas/order', required: true },
              { name: 'specversion', value: '1.0', required: true },
              { name: 'id', required: true },
            ],
            reference: {
              apiVersion: 'eventing.knative.dev/v1',
              kind: 'Broker',
              name: 'default',
              namespace: 'default',
            },
            description: 'Event Type auto-created by controller',
          },
        },
      },
    ]);
  });

  it('refers to the channel kind that is stored for a channel route', () => {
    const [et] = eventTypesToCreate(
      [seen('order.created', { kind: 'channel', name: 'orders' })],
      [input('messaging.knative.dev/v1', 'InMemoryChannel', 'orders')],
    );
    expect(et?.resource).toMatchObject({
      spec: {
        reference: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'orders' },
      },
    });
  });

  it('is on when knative-eventing/config-features says eventtype-auto-create: enabled', () => {
    const features = (value: string) =>
      input(
        'v1',
        'ConfigMap',
        'config-features',
        { data: { 'eventtype-auto-create': value } },
        'knative-eventing',
      );
    expect(autoCreateFromFeatures([features('enabled')])).toBe(true);
    expect(autoCreateFromFeatures([features('disabled')])).toBe(false);
    expect(
      autoCreateFromFeatures([input('v1', 'ConfigMap', 'config-features', { data: {} }, 'default')]),
    ).toBe(undefined);
  });
});

describe('observations of several ingresses', () => {
  it('merge into one per kind: counts and rates added, the earliest first and latest last seen', () => {
    const merged = mergeObservations([
      [seen('a'), seen('b')],
      [seen('a', { firstSeen: T0 - 10, lastSeen: T0 + 9000, count: 6, rate: 1 })],
    ]);
    expect(merged.map((o) => [o.type, o.firstSeen - T0, o.lastSeen - T0, o.count, o.rate])).toEqual([
      ['a', -10, 9000, 10, 1.5],
      ['b', 0, 5000, 4, 0.5],
    ]);
  });

  it('rates show with two decimals, small ones with one significant digit', () => {
    expect([formatRate(0), formatRate(2), formatRate(0.0333), formatRate(0.004)]).toEqual([
      '0',
      '2.00',
      '0.03',
      '0.004',
    ]);
  });
});
