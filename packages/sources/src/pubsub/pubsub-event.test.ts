// Mapping and client-configuration details the end-to-end tests do not reach.

import { describe, expect, it } from 'vitest';
import { createEnvSecretResolver } from '../sdk/secrets.js';
import { MalformedMessageError, type PubSubMessageLike, pubsubMessageToEvent } from './pubsub-event.js';
import { type PubSubSourceSpec, pubsubClientConfig } from './pubsub-source.js';

const where = { topic: 'projects/p/topics/t', subscription: 'projects/p/subscriptions/s' };
const message = (over: Partial<PubSubMessageLike>): PubSubMessageLike => ({
  id: '42',
  data: Buffer.from('x'),
  attributes: {},
  publishTime: '2026-01-02T03:04:05.123456789Z',
  ...over,
});

describe('pubsubMessageToEvent', () => {
  it('keeps the ordering key and the nanosecond publish time', () => {
    const event = pubsubMessageToEvent(message({ orderingKey: 'k1' }), where);
    expect(event).toMatchObject({
      id: '42',
      time: '2026-01-02T03:04:05.123456789Z',
      source: '//pubsub.googleapis.com/projects/p/topics/t',
    });
    expect(event.data).toEqual({
      message: {
        data: 'eA==',
        messageId: '42',
        publishTime: '2026-01-02T03:04:05.123456789Z',
        orderingKey: 'k1',
      },
      subscription: 'projects/p/subscriptions/s',
    });
  });

  it.each([
    [
      'binary without ce-id',
      { 'ce-specversion': '1.0', 'ce-source': 's', 'ce-type': 't' },
      'x',
      /without id/,
    ],
    [
      'binary with specversion 0.3',
      { 'ce-specversion': '0.3', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't' },
      'x',
      /specversion "0.3"/,
    ],
    [
      'binary with a bad attribute name',
      { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't', 'ce-my_ext': 'v' },
      'x',
      /"ce-my_ext"/,
    ],
    [
      'structured that is not JSON',
      { 'content-type': 'application/cloudevents+json' },
      '{',
      /invalid JSON body/,
    ],
    [
      'structured that is an array',
      { 'content-type': 'application/cloudevents+json' },
      '[]',
      /must be a JSON object/,
    ],
    [
      'structured without type',
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0","id":"1","source":"s"}',
      /missing required attribute "type"/,
    ],
  ])('rejects %s', (_, attributes, data, error) => {
    expect(() => pubsubMessageToEvent(message({ attributes, data: Buffer.from(data) }), where)).toThrow(
      MalformedMessageError,
    );
    expect(() => pubsubMessageToEvent(message({ attributes, data: Buffer.from(data) }), where)).toThrow(
      error,
    );
  });

  it('decodes data_base64 of a structured event to bytes', () => {
    const body = {
      specversion: '1.0',
      id: '1',
      source: 's',
      type: 't',
      data_base64: Buffer.from([0, 1, 2]).toString('base64'),
    };
    const event = pubsubMessageToEvent(
      message({
        attributes: { 'content-type': 'application/cloudevents+json' },
        data: Buffer.from(JSON.stringify(body)),
      }),
      where,
    );
    expect(event.data).toEqual(Buffer.from([0, 1, 2]));
    expect(event).not.toHaveProperty('data_base64');
  });
});

describe('pubsubClientConfig', () => {
  const spec = (over: Partial<PubSubSourceSpec> = {}) =>
    ({ project: 'p', subscription: 'sub-1', sink: { uri: 'http://x/' }, ...over }) as PubSubSourceSpec;
  const key = JSON.stringify({
    type: 'service_account',
    client_email: 'a@p.iam.gserviceaccount.com',
    private_key: 'k',
  });
  const secrets = createEnvSecretResolver({
    namespace: 'demo',
    env: {
      EDDY_SECRET_GCP_KEY_JSON: key,
      EDDY_SECRET_GCP_BAD_JSON: 'not json',
      EDDY_SECRET_GCP_PARTIAL_JSON: '{}',
    },
  });

  it('uses emulator mode for an endpoint without credentials', async () => {
    const config = await pubsubClientConfig({ spec: spec({ endpoint: '127.0.0.1:8085' }), secrets });
    expect(config).toMatchObject({ projectId: 'p', apiEndpoint: '127.0.0.1:8085', emulatorMode: true });
  });

  it('passes the service-account key from the secret (no emulator mode)', async () => {
    const config = await pubsubClientConfig({
      spec: spec({
        endpoint: 'pubsub.example.internal:443',
        credentials: { secretKeyRef: { name: 'gcp-key', key: 'json' } },
      }),
      secrets,
    });
    expect(config.credentials).toMatchObject({ client_email: 'a@p.iam.gserviceaccount.com' });
    expect(config.emulatorMode).toBeUndefined();
  });

  it('names what is wrong', async () => {
    const ref = (name: string) => ({ credentials: { secretKeyRef: { name, key: 'json' } } });
    await expect(pubsubClientConfig({ spec: spec(ref('gcp-bad')), secrets })).rejects.toThrow(
      /spec.credentials is not a service-account JSON key/,
    );
    await expect(pubsubClientConfig({ spec: spec(ref('gcp-partial')), secrets })).rejects.toThrow(
      /lacks client_email or private_key/,
    );
    await expect(pubsubClientConfig({ spec: spec(ref('gcp-missing')), secrets })).rejects.toThrow(
      /EDDY_SECRET_GCP_MISSING_JSON/,
    );
    await expect(pubsubClientConfig({ spec: spec({ endpoint: 'http://host:1' }), secrets })).rejects.toThrow(
      /spec.endpoint/,
    );
    await expect(
      pubsubClientConfig({ spec: spec({ subscription: 'projects/p/subscriptions/s' }), secrets }),
    ).rejects.toThrow(/spec.subscription/);
  });
});
