import { describe, expect, it } from 'vitest';
import { createEnvSecretResolver } from '../sdk/secrets.js';
import { checkSpec, connectionSecurity, type KafkaSourceSpec, resolveOrdering } from './kafka-config.js';
import { MalformedRecordError, parseKeyType, recordToEvent } from './kafka-event.js';

const spec = (extra: Partial<KafkaSourceSpec> = {}): KafkaSourceSpec =>
  ({
    bootstrapServers: ['127.0.0.1:9092'],
    topics: ['t'],
    sink: { uri: 'http://x/' },
    ...extra,
  }) as KafkaSourceSpec;
const ref = (name: string, key: string) => ({ secretKeyRef: { name, key } });

describe('KafkaSource config', () => {
  it('takes ordering from the delivery.order annotation, then spec.ordering, default ordered', () => {
    expect(resolveOrdering(spec(), {})).toBe('ordered');
    expect(resolveOrdering(spec({ ordering: 'unordered' }), {})).toBe('unordered');
    expect(
      resolveOrdering(spec({ ordering: 'unordered' }), {
        'kafka.eventing.knative.dev/delivery.order': 'ordered',
      }),
    ).toBe('ordered');
    expect(() => resolveOrdering(spec(), { 'kafka.eventing.knative.dev/delivery.order': 'sorted' })).toThrow(
      /delivery\.order.*"sorted"/,
    );
  });

  it('rejects empty or malformed servers and topics by field', () => {
    expect(() => checkSpec(spec({ bootstrapServers: [] }))).toThrow(/spec.bootstrapServers: at least one/);
    expect(() => checkSpec(spec({ bootstrapServers: ['kafka'] }))).toThrow(
      /spec.bootstrapServers\[0\]: expected host:port/,
    );
    expect(() => checkSpec(spec({ topics: ['a', ' '] }))).toThrow(/spec.topics\[1\]: empty topic name/);
    expect(() => checkSpec(spec())).not.toThrow();
  });

  it('maps TLS and SASL secrets to kafkajs settings', async () => {
    const secrets = createEnvSecretResolver({
      namespace: 'demo',
      env: {
        EDDY_SECRET_KAFKA_CA: 'CA PEM',
        EDDY_SECRET_KAFKA_USER: 'alice',
        EDDY_SECRET_KAFKA_PASSWORD: 's3cret',
        EDDY_SECRET_KAFKA_TYPE: 'SCRAM-SHA-512',
      },
    });
    const net = {
      tls: { enable: true, caCert: ref('kafka', 'ca') },
      sasl: {
        enable: true,
        user: ref('kafka', 'user'),
        password: ref('kafka', 'password'),
        type: ref('kafka', 'type'),
      },
    };
    expect(await connectionSecurity(net, secrets)).toEqual({
      ssl: { ca: ['CA PEM'] },
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 's3cret' },
    });
    expect(await connectionSecurity({ tls: { enable: true } }, secrets)).toEqual({ ssl: true });
    expect(await connectionSecurity({ tls: { enable: false, caCert: ref('kafka', 'ca') } }, secrets)).toEqual(
      {},
    );
    await expect(
      connectionSecurity(
        { sasl: { enable: true, user: ref('kafka', 'user'), password: ref('missing', 'pw') } },
        secrets,
      ),
    ).rejects.toThrow(/spec.net.sasl.password: .*EDDY_SECRET_MISSING_PW/);
    await expect(
      connectionSecurity({ sasl: { enable: true, type: ref('kafka', 'user') } }, secrets),
    ).rejects.toThrow(/spec.net.sasl.type: unsupported mechanism "alice"/);
    await expect(
      connectionSecurity({ sasl: { enable: true, roleARN: ref('kafka', 'user') } }, secrets),
    ).rejects.toThrow(/spec.net.sasl.roleARN: AWS IAM/);
  });
});

describe('KafkaSource record mapping', () => {
  const origin = { namespace: 'ns', name: 'src', topic: 'orders', partition: 2 };

  it('decodes keys per the key-type annotation and rejects keys of the wrong size', () => {
    const key = (k: Buffer, type: ReturnType<typeof parseKeyType>) =>
      (recordToEvent({ offset: '5', key: k, value: null }, origin, type) as { key?: string }).key;
    const int = Buffer.alloc(4);
    int.writeInt32BE(-42);
    const long = Buffer.alloc(8);
    long.writeBigInt64BE(1234567890123n);
    const double = Buffer.alloc(8);
    double.writeDoubleBE(1.5);
    expect(key(int, 'int')).toBe('-42');
    expect(key(long, 'int')).toBe('1234567890123');
    expect(key(double, 'float')).toBe('1.5');
    expect(key(Buffer.from([1, 2]), 'byte-array')).toBe('AQI=');
    expect(() => key(Buffer.from([1, 2]), 'int')).toThrow(MalformedRecordError);
    expect(parseKeyType({ 'kafkasources.sources.knative.dev/key-type': 'float' })).toBe('float');
    expect(() => parseKeyType({ 'kafkasources.sources.knative.dev/key-type': 'long' })).toThrow(
      /key-type.*"long"/,
    );
  });

  it('names headers kafkaheader<lower-case alphanumerics> and takes the last of repeated values', () => {
    const event = recordToEvent(
      {
        offset: '9',
        value: 'x',
        headers: { 'My-Header.V2': ['a', Buffer.from('b')], 'Content-Type': 'Text/Plain' },
      },
      origin,
      'string',
    ) as Record<string, unknown>;
    expect(event).toMatchObject({
      id: 'partition:2/offset:9',
      subject: 'partition:2#9',
      source: '/apis/v1/namespaces/ns/kafkasources/src#orders',
      kafkaheadermyheaderv2: 'b',
      datacontenttype: 'text/plain',
    });
  });

  it('treats a record claiming to be a CloudEvent but invalid as malformed, with where and why', () => {
    expect(() =>
      recordToEvent(
        { offset: '3', value: 'x', headers: { ce_specversion: '1.0', ce_type: 't' } },
        origin,
        'string',
      ),
    ).toThrow(/record orders\/2@3 .*ce_id/);
  });
});
