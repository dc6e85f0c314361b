import { describe, expect, it } from 'vitest';
import { renderResources } from '../commands/get.js';
import { age, humanDuration } from './age.js';
import { renderDescribe } from './describe-text.js';
import { eventLine } from './event-line.js';
import { renderTable } from './table.js';

describe('humanDuration (kubectl AGE)', () => {
  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [9 * 3600_000, '9h'],
    [50 * 3600_000, '2d2h'],
    [10 * 86_400_000, '10d'],
    [800 * 86_400_000, '2y'],
  ])('%d ms -> %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('an absent or unparsable timestamp is <unknown>', () => {
    expect(age(undefined, Date.now())).toBe('<unknown>');
    expect(age('yesterday', Date.now())).toBe('<unknown>');
  });
});

describe('renderTable', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      renderTable(
        ['NAME', 'READY'],
        [
          ['a-long-name', 'True'],
          ['b', ''],
        ],
      ),
    ).toEqual(['NAME          READY', 'a-long-name   True', 'b']);
  });
});

describe('eventLine', () => {
  it('shortens long data to one line', () => {
    const line = eventLine({ id: '1', type: 't', source: 's', time: 'T', data: `${'x'.repeat(100)}\n` });
    expect(line).toBe(`T  t  s  id=1  ${'x'.repeat(77)}...`);
  });

  it('shows data_base64 decoded when the content type is JSON or text and the bytes decode', () => {
    const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
    const line = (datacontenttype: string | undefined, data_base64: string) =>
      eventLine({ id: '1', type: 't', source: 's', datacontenttype, data_base64 });
    expect(line('application/json', b64('{ "a": 1 }\n'))).toBe('-  t  s  id=1  {"a":1}');
    expect(line('application/json', b64('null'))).toBe('-  t  s  id=1  null');
    expect(line('text/plain; charset=utf-8', b64('h\u00e9llo\n'))).toBe('-  t  s  id=1  h\u00e9llo');
    expect(line('application/octet-stream', b64('abc'))).toBe('-  t  s  id=1  <3 bytes>');
    expect(line(undefined, b64('abc'))).toBe('-  t  s  id=1  <3 bytes>');
    expect(line('text/plain', b64(Buffer.from([0xff, 0xfe])))).toBe('-  t  s  id=1  <2 bytes>');
    expect(line('text/plain; charset=iso-8859-1', b64('abc'))).toBe('-  t  s  id=1  <3 bytes>');
  });
});

describe('Secrets and ConfigMaps in get and describe', () => {
  const meta = (name: string) => ({
    name,
    namespace: 'default',
    generation: 1,
    creationTimestamp: '2026-01-01T00:00:00Z',
  });
  const now = Date.parse('2026-01-01T00:01:00Z');
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta('gh'),
    type: 'kubernetes.io/basic-auth',
    data: { password: '<redacted: 12 bytes>', username: '<redacted: 5 bytes>' },
  };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta('settings'),
    data: { level: 'debug' },
    binaryData: { logo: 'AAECAw==' },
  };

  it('get: kubectl columns (no READY for kinds without status)', () => {
    const opts = { allNamespaces: false, single: false, context: { now } };
    expect(renderResources('Secret', [secret], 'table', opts)).toEqual([
      'NAME   TYPE                       DATA   AGE',
      'gh     kubernetes.io/basic-auth   2      60s',
    ]);
    expect(renderResources('ConfigMap', [configMap], 'table', opts)).toEqual([
      'NAME       DATA   AGE',
      'settings   2      60s',
    ]);
  });

  it('describe: a Secret has its keys and sizes, a ConfigMap its data and binary sizes; no spec or conditions', () => {
    const s = renderDescribe({ resource: secret, events: [] }, now);
    expect(s).toEqual(
      expect.arrayContaining([
        'Type:         kubernetes.io/basic-auth',
        'Data:',
        '  password:  12 bytes',
        '  username:  5 bytes',
      ]),
    );
    expect(s.join('\n')).not.toMatch(/Spec:|Conditions/);
    const c = renderDescribe({ resource: configMap, events: [] }, now);
    expect(c).toEqual(expect.arrayContaining(['Data:', '  level: debug', 'BinaryData:', '  logo:  4 bytes']));
  });
});

describe('renderDescribe: children', () => {
  it("lists what a flow owns with each child's Ready, and keeps the per-child statuses out of the Status block", () => {
    const now = Date.parse('2026-12-07T00:01:00Z');
    const sequence = {
      apiVersion: 'flows.knative.dev/v1',
      kind: 'Sequence',
      metadata: {
        name: 'seq',
        namespace: 'default',
        generation: 1,
        creationTimestamp: '2026-12-07T00:00:00Z',
      },
      spec: { steps: [{ uri: 'http://a/' }] },
      status: {
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'True' }],
        channelStatuses: [
          { channel: { name: 'seq-kn-sequence-0' }, ready: { type: 'Ready', status: 'True' } },
        ],
      },
    };
    const lines = renderDescribe(
      {
        resource: sequence as never,
        events: [],
        children: [
          { kind: 'InMemoryChannel', name: 'seq-kn-sequence-0', ready: 'True' },
          {
            kind: 'Subscription',
            name: 'seq-kn-sequence-0',
            ready: 'False',
            reason: 'SubscriberResolveFailed',
            message: 'no such service',
          },
        ],
      },
      now,
    );
    const text = lines.join('\n');
    expect(text).toContain('Children:');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\s+KIND\s+NAME\s+READY\s+REASON\s+MESSAGE$/),
        expect.stringMatching(/^\s+InMemoryChannel\s+seq-kn-sequence-0\s+True$/),
        expect.stringMatching(
          /^\s+Subscription\s+seq-kn-sequence-0\s+False\s+SubscriberResolveFailed\s+no such service$/,
        ),
      ]),
    );
    expect(text).not.toContain('channelStatuses');
  });
});
