import { type Static, Type } from '@sinclair/typebox';
import { KindSchema } from './common.js';
import { Strict, StringEnum } from './helpers.js';

/** The CloudEvents Kafka binding's content modes a KafkaSink writes in (Knative's default: binary). */
export const KAFKA_SINK_CONTENT_MODES = ['binary', 'structured'] as const;
export type KafkaSinkContentMode = (typeof KAFKA_SINK_CONTENT_MODES)[number];

/**
 * eventing.knative.dev/v1alpha1 KafkaSink (eventing-kafka-broker): an Addressable that writes every
 * event it receives to `topic` on the Kafka cluster at `bootstrapServers`. `auth.secret.ref` names a
 * Secret with Knative's keys (protocol, sasl.mechanism, user, password, ca.crt, user.crt, user.key).
 */
export const KafkaSinkSpec = Strict({
  topic: Type.String(),
  numPartitions: Type.Optional(Type.Integer()),
  replicationFactor: Type.Optional(Type.Integer()),
  bootstrapServers: Type.Array(Type.String()),
  contentMode: Type.Optional(StringEnum(KAFKA_SINK_CONTENT_MODES)),
  auth: Type.Optional(
    Strict({
      secret: Type.Optional(
        Strict({
          ref: Type.Optional(Strict({ name: Type.String() })),
        }),
      ),
    }),
  ),
});

export const KafkaSink = KindSchema(['eventing.knative.dev/v1alpha1'], 'KafkaSink', KafkaSinkSpec);
export type KafkaSink = Static<typeof KafkaSink>;
