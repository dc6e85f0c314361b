// Knative's trigger filter semantics as a table (knative/eventing pkg/eventfilter and the broker's
// filter handler), plus what Eddy adds: compile-once CESQL, errors = fail, readable compile errors.

import { describe, expect, it } from 'vitest';
import type { PlainEvent } from '../cloudevents/event.js';
import type { ResolvedFilter } from '../contract/data-plane-contract.js';
import type { SubscriptionsAPIFilter } from '../resources/schemas/common.js';
import { timeString } from './attribute-value.js';
import { compileFilter, FilterCompileError, type FilterResult } from './compile-filter.js';

const event: PlainEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: '/orders/eu',
  type: 'com.example.order.created',
  subject: 'order-42',
  time: '2024-05-01T10:00:00.500+00:00',
  datacontenttype: 'application/json',
  data: { total: 10 },
  region: 'eu-west',
  priority: 5,
  urgent: true,
};

const noSubject: PlainEvent = { specversion: '1.0', id: 'e-2', source: '/s', type: 't', data: 'x' };

type Row = [name: string, filter: ResolvedFilter | undefined, expected: FilterResult, on?: PlainEvent];

const f = (filters: SubscriptionsAPIFilter[]): ResolvedFilter => ({ filters });

const table: Row[] = [
  ['no filter at all', undefined, 'nofilter'],
  ['empty filter object', {}, 'nofilter'],
  // Legacy attributes.
  ['attributes: empty map passes everything', { attributes: {} }, 'pass'],
  ['attributes: one key equal', { attributes: { type: 'com.example.order.created' } }, 'pass'],
  ['attributes: one key different', { attributes: { type: 'com.example.order.deleted' } }, 'fail'],
  [
    'attributes: several keys all equal',
    { attributes: { type: 'com.example.order.created', source: '/orders/eu' } },
    'pass',
  ],
  [
    'attributes: several keys one different',
    { attributes: { type: 'com.example.order.created', source: '/x' } },
    'fail',
  ],
  ['attributes: values are exact, not prefixes', { attributes: { type: 'com.example' } }, 'fail'],
  ['attributes: extension equal', { attributes: { region: 'eu-west' } }, 'pass'],
  ['attributes: missing extension fails', { attributes: { tenant: 'a' } }, 'fail'],
  ['attributes: "" means any value', { attributes: { region: '' } }, 'pass'],
  ['attributes: "" still needs the extension', { attributes: { tenant: '' } }, 'fail'],
  ['attributes: "" on an unset optional attribute fails', { attributes: { subject: '' } }, 'fail', noSubject],
  [
    'attributes: non-string extension by its string form',
    { attributes: { priority: '5', urgent: 'true' } },
    'pass',
  ],
  ['attributes: data is not an attribute', { attributes: { data: '' } }, 'fail'],
  ['attributes: time in Go RFC 3339 form', { attributes: { time: '2024-05-01T10:00:00.5Z' } }, 'pass'],
  // exact / prefix / suffix.
  ['exact: equal', f([{ exact: { type: 'com.example.order.created' } }]), 'pass'],
  ['exact: different', f([{ exact: { type: 'com.example.order' } }]), 'fail'],
  [
    'exact: several keys all match',
    f([{ exact: { type: 'com.example.order.created', subject: 'order-42' } }]),
    'pass',
  ],
  [
    'exact: several keys one fails',
    f([{ exact: { type: 'com.example.order.created', subject: 'order-1' } }]),
    'fail',
  ],
  ['exact: missing attribute fails', f([{ exact: { tenant: 'a' } }]), 'fail'],
  ['exact: unset optional attribute fails', f([{ exact: { subject: 'x' } }]), 'fail', noSubject],
  ['exact: empty value is no filter', f([{ exact: { type: '' } }]), 'nofilter'],
  ['prefix: matches', f([{ prefix: { type: 'com.example.' } }]), 'pass'],
  ['prefix: does not match', f([{ prefix: { type: 'org.' } }]), 'fail'],
  ['prefix: several keys all match', f([{ prefix: { type: 'com.', source: '/orders' } }]), 'pass'],
  ['prefix: several keys one fails', f([{ prefix: { type: 'com.', source: '/users' } }]), 'fail'],
  ['prefix: missing attribute fails', f([{ prefix: { tenant: 'a' } }]), 'fail'],
  ['prefix: whole value is a prefix of itself', f([{ prefix: { region: 'eu-west' } }]), 'pass'],
  ['suffix: matches', f([{ suffix: { type: '.created' } }]), 'pass'],
  ['suffix: does not match', f([{ suffix: { type: '.deleted' } }]), 'fail'],
  ['suffix: several keys one fails', f([{ suffix: { type: '.created', source: '/us' } }]), 'fail'],
  ['suffix: missing attribute fails', f([{ suffix: { tenant: 'a' } }]), 'fail'],
  ['suffix: on an extension', f([{ suffix: { region: '-west' } }]), 'pass'],
  // Several entries at the top level = all.
  [
    'filters: all entries must pass',
    f([{ prefix: { type: 'com.' } }, { suffix: { type: '.created' } }]),
    'pass',
  ],
  [
    'filters: one failing entry fails',
    f([{ prefix: { type: 'com.' } }, { suffix: { type: '.deleted' } }]),
    'fail',
  ],
  // Combinators.
  [
    'all: every child passes',
    f([{ all: [{ exact: { region: 'eu-west' } }, { prefix: { type: 'com.' } }] }]),
    'pass',
  ],
  [
    'all: one child fails',
    f([{ all: [{ exact: { region: 'eu-west' } }, { prefix: { type: 'org.' } }] }]),
    'fail',
  ],
  [
    'all: no filter children are neutral',
    f([{ all: [{ exact: { type: '' } }, { prefix: { type: 'com.' } }] }]),
    'pass',
  ],
  [
    'all: only no filter children',
    f([{ all: [{ exact: { type: '' } }, { suffix: { type: '' } }] }]),
    'nofilter',
  ],
  ['all: empty list is skipped', f([{ all: [] }]), 'nofilter'],
  [
    'any: one child passes',
    f([{ any: [{ exact: { type: 'x' } }, { exact: { region: 'eu-west' } }] }]),
    'pass',
  ],
  ['any: every child fails', f([{ any: [{ exact: { type: 'x' } }, { exact: { region: 'us' } }] }]), 'fail'],
  [
    'any: fail and no filter = fail',
    f([{ any: [{ exact: { type: 'x' } }, { exact: { type: '' } }] }]),
    'fail',
  ],
  ['any: only no filter', f([{ any: [{ exact: { type: '' } }] }]), 'nofilter'],
  [
    'any: missing attribute in one child',
    f([{ any: [{ exact: { tenant: 'a' } }, { suffix: { type: 'created' } }] }]),
    'pass',
  ],
  ['not: of pass', f([{ not: { exact: { type: 'com.example.order.created' } } }]), 'fail'],
  ['not: of fail', f([{ not: { exact: { type: 'x' } } }]), 'pass'],
  ['not: of a missing attribute passes', f([{ not: { exact: { tenant: 'a' } } }]), 'pass'],
  ['not: of no filter', f([{ not: { exact: { type: '' } } }]), 'nofilter'],
  ['not: of an empty entry', f([{ not: {} }]), 'nofilter'],
  [
    'nested: all(any(...), not(...))',
    f([
      {
        all: [
          { any: [{ exact: { region: 'us' } }, { prefix: { region: 'eu' } }] },
          { not: { suffix: { type: '.deleted' } } },
        ],
      },
    ]),
    'pass',
  ],
  ['an entry without a dialect is skipped', f([{}, { exact: { type: 'x' } }]), 'fail'],
  ['only entries without a dialect', f([{}]), 'nofilter'],
  // filters vs attributes.
  [
    'non-empty filters override attributes (attributes would fail)',
    { attributes: { type: 'x' }, filters: [{ prefix: { type: 'com.' } }] },
    'pass',
  ],
  [
    'non-empty filters override attributes (attributes would pass)',
    { attributes: { type: 'com.example.order.created' }, filters: [{ exact: { type: 'x' } }] },
    'fail',
  ],
  ['empty filters do not override attributes (fail)', { attributes: { type: 'x' }, filters: [] }, 'fail'],
  [
    'empty filters do not override attributes (pass)',
    { attributes: { region: 'eu-west' }, filters: [] },
    'pass',
  ],
  // CESQL.
  ['cesql: true', f([{ cesql: "type LIKE 'com.example.%' AND region = 'eu-west'" }]), 'pass'],
  ['cesql: false', f([{ cesql: "subject = 'order-1'" }]), 'fail'],
  ['cesql: non-string extension', f([{ cesql: 'priority > 3 AND urgent' }]), 'pass'],
  ['cesql: missing attribute is an error = fail', f([{ cesql: "tenant = 'a'" }]), 'fail'],
  ['cesql: missing attribute under NOT still fails', f([{ cesql: "NOT (tenant = 'a')" }]), 'fail'],
  ['cesql: EXISTS of a missing attribute', f([{ cesql: 'EXISTS tenant' }]), 'fail'],
  ['cesql: math error = fail', f([{ cesql: 'priority / 0 = 0' }]), 'fail'],
  ['cesql: non-boolean result = fail', f([{ cesql: "'abc'" }]), 'fail'],
  ['cesql: the payload is not an attribute', f([{ cesql: 'EXISTS data' }]), 'fail'],
  ['cesql: data in a string literal is harmless', f([{ cesql: "source <> 'data'" }]), 'pass'],
  ['cesql: not(error) is pass (the Fail is negated)', f([{ not: { cesql: "tenant = 'a'" } }]), 'pass'],
  ['cesql: empty expression is no filter', f([{ cesql: '' }]), 'nofilter'],
];

describe('compileFilter (Knative semantics)', () => {
  it.each(table)('%s', (_name, filter, expected, on = event) => {
    expect(compileFilter(filter)(on)).toBe(expected);
  });

  it('compares 0.3 schemaurl and 1.0 dataschema as one attribute', () => {
    const v03: PlainEvent = { specversion: '0.3', id: '1', source: '/s', type: 't', schemaurl: 'http://s/1' };
    expect(compileFilter({ attributes: { dataschema: 'http://s/1' } })(v03)).toBe('pass');
    expect(compileFilter(f([{ exact: { schemaurl: 'http://s/1' } }]))(v03)).toBe('pass');
  });

  it('rejects an invalid CESQL expression when compiling, naming the entry', () => {
    expect(() =>
      compileFilter(f([{ exact: { type: 'x' } }, { any: [{ cesql: 'type = ' }] }]), 'trigger default/t1'),
    ).toThrow(FilterCompileError);
    expect(() =>
      compileFilter(f([{ exact: { type: 'x' } }, { any: [{ cesql: 'type = ' }] }]), 'trigger default/t1'),
    ).toThrow(/trigger default\/t1\.filters\[1\]\.any\[0\]\.cesql: invalid CESQL expression/);
  });
});

describe('timeString (Go RFC3339Nano form)', () => {
  it.each([
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z'],
    ['2024-05-01T10:00:00+00:00', '2024-05-01T10:00:00Z'],
    ['2024-05-01t10:00:00z', '2024-05-01T10:00:00Z'],
    ['2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00Z'],
    ['2024-05-01T10:00:00.120Z', '2024-05-01T10:00:00.12Z'],
    ['2024-05-01T10:00:00.1234567891Z', '2024-05-01T10:00:00.123456789Z'],
    ['2024-05-01T12:00:00.5+02:00', '2024-05-01T12:00:00.5+02:00'],
    ['not a time', 'not a time'],
  ])('%s -> %s', (input, expected) => {
    expect(timeString(input)).toBe(expected);
  });
});
