// KafkaSource spec -> what the consumer needs: group, start position, ordering, and the kafkajs
// connection settings (TLS and SASL, their material read through the source's secret resolver).

import { DELIVERY_ORDER_ANNOTATION, type KafkaSource, parseDeliveryOrderAnnotation } from '@eddy/api';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { SecretResolver } from '../sdk/adapter.js';

export type KafkaSourceSpec = KafkaSource['spec'];
export type Ordering = 'ordered' | 'unordered';

/** The consumer group Eddy's defaulting gives a KafkaSource without one (stable across restarts). */
export function defaultConsumerGroup(namespace: string, name: string): string {
  return `knative-kafka-source-${namespace}-${name}`;
}

/**
 * Ordering: the `kafka.eventing.knative.dev/delivery.order` annotation when set (it is how Knative's
 * Kafka data plane is told per resource), else `spec.ordering`, else `ordered` (Knative's default).
 */
export function resolveOrdering(
  spec: KafkaSourceSpec,
  annotations: Readonly<Record<string, string>>,
): Ordering {
  const annotation = annotations[DELIVERY_ORDER_ANNOTATION];
  if (annotation !== undefined) {
    const parsed = parseDeliveryOrderAnnotation(annotation);
    if (!parsed.ok)
      throw new TypeError(`metadata.annotations["${DELIVERY_ORDER_ANNOTATION}"]: ${parsed.message}`);
    return parsed.value;
  }
  return spec.ordering ?? 'ordered';
}

/** Checks what the schema cannot: at least one server and topic, no empty names. */
export function checkSpec(spec: KafkaSourceSpec): void {
  if (spec.bootstrapServers.length === 0)
    throw new TypeError('spec.bootstrapServers: at least one server is required');
  spec.bootstrapServers.forEach((server, i) => {
    if (!/^[^\s:]+:\d+$/.test(server.trim()) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(server.trim()))
      throw new TypeError(`spec.bootstrapServers[${i}]: expected host:port, found ${JSON.stringify(server)}`);
  });
  if (spec.topics.length === 0) throw new TypeError('spec.topics: at least one topic is required');
  spec.topics.forEach((topic, i) => {
    if (topic.trim() === '') throw new TypeError(`spec.topics[${i}]: empty topic name`);
  });
}

type SecretField = { secretKeyRef?: { name: string; key: string; optional?: boolean } } | undefined;

/** A secret-valued field: undefined when the field has no secretKeyRef; errors name the field. */
async function secretField(
  secrets: SecretResolver,
  ref: SecretField,
  field: string,
): Promise<string | undefined> {
  if (!ref?.secretKeyRef) return undefined;
  try {
    return await secrets.resolve(ref);
  } catch (err) {
    throw new TypeError(`spec.net.${field}: ${(err as Error).message}`);
  }
}

const SASL_MECHANISMS: Record<string, SASLOptions['mechanism']> = {
  plain: 'plain',
  'scram-sha-256': 'scram-sha-256',
  'scram-sha-512': 'scram-sha-512',
};

/**
 * kafkajs `ssl` / `sasl` from `spec.net`. Knative's secret-based fields map as follows: tls.caCert,
 * tls.cert, tls.key -> ssl ca/cert/key; sasl.type (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; default
 * PLAIN), sasl.user, sasl.password -> sasl. OAUTHBEARER token providers and AWS IAM roles (roleARN)
 * are not supported by this adapter and are rejected by name.
 */
export async function connectionSecurity(
  net: KafkaSourceSpec['net'],
  secrets: SecretResolver,
): Promise<Pick<KafkaConfig, 'ssl' | 'sasl'>> {
  const result: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (!net) return result;
  const tls = net.tls;
  if (tls?.enable) {
    const ca = await secretField(secrets, tls.caCert, 'tls.caCert');
    const cert = await secretField(secrets, tls.cert, 'tls.cert');
    const key = await secretField(secrets, tls.key, 'tls.key');
    if ((cert === undefined) !== (key === undefined))
      throw new TypeError('spec.net.tls: cert and key must be given together (client certificate)');
    result.ssl =
      ca === undefined && cert === undefined
        ? true
        : { ...(ca !== undefined ? { ca: [ca] } : {}), ...(cert !== undefined ? { cert, key } : {}) };
  }
  const sasl = net.sasl;
  if (sasl?.enable) {
    if (sasl.tokenProvider?.secretKeyRef)
      throw new TypeError(
        "spec.net.sasl.tokenProvider: OAUTHBEARER token providers are not supported by Eddy's KafkaSource",
      );
    if (sasl.roleARN?.secretKeyRef)
      throw new TypeError(
        "spec.net.sasl.roleARN: AWS IAM authentication is not supported by Eddy's KafkaSource",
      );
    const type = ((await secretField(secrets, sasl.type, 'sasl.type')) ?? 'PLAIN').trim();
    const mechanism = SASL_MECHANISMS[type.toLowerCase()];
    if (!mechanism)
      throw new TypeError(
        `spec.net.sasl.type: unsupported mechanism ${JSON.stringify(type)} (expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`,
      );
    const username = await secretField(secrets, sasl.user, 'sasl.user');
    const password = await secretField(secrets, sasl.password, 'sasl.password');
    if (username === undefined || password === undefined)
      throw new TypeError(
        'spec.net.sasl: user and password secret references are required when SASL is enabled',
      );
    result.sasl = { mechanism, username, password } as SASLOptions;
  }
  return result;
}
