import { type Static, Type } from '@sinclair/typebox';
import {
  DeliverySpec,
  KindSchema,
  LabelSelector,
  PodTemplateSpec,
  SecretValueFromSource,
  SourceSpecFields,
  SubscriptionsAPIFilter,
} from './common.js';
import { Strict, StringEnum } from './helpers.js';

/** sources.knative.dev/v1 (and v1beta2, same shape) PingSource. */
export const PingSourceSpec = Strict({
  /** Cron schedule (5 fields, or 6 with seconds first; `@hourly`-style descriptors except `@every`). */
  schedule: Type.Optional(Type.String()),
  /** IANA time zone name, e.g. `Europe/Paris`. */
  timezone: Type.Optional(Type.String()),
  contentType: Type.Optional(Type.String()),
  data: Type.Optional(Type.String()),
  dataBase64: Type.Optional(Type.String()),
  ...SourceSpecFields,
});

export const PingSource = KindSchema(
  ['sources.knative.dev/v1', 'sources.knative.dev/v1beta2'],
  'PingSource',
  PingSourceSpec,
);
export type PingSource = Static<typeof PingSource>;

/** sources.knative.dev/v1 ContainerSource: runs `template` and injects K_SINK / K_CE_OVERRIDES. */
export const ContainerSourceSpec = Strict({
  template: PodTemplateSpec,
  ...SourceSpecFields,
});

export const ContainerSource = KindSchema(['sources.knative.dev/v1'], 'ContainerSource', ContainerSourceSpec);
export type ContainerSource = Static<typeof ContainerSource>;

/** sources.knative.dev/v1 SinkBinding: injects the sink into the subject's workload. */
export const SinkBindingSpec = Strict({
  subject: Strict({
    apiVersion: Type.String(),
    kind: Type.String(),
    namespace: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    selector: Type.Optional(LabelSelector),
  }),
  ...SourceSpecFields,
});

export const SinkBinding = KindSchema(['sources.knative.dev/v1'], 'SinkBinding', SinkBindingSpec);
export type SinkBinding = Static<typeof SinkBinding>;

/** sources.knative.dev/v1 ApiServerSource: Kubernetes objects' changes as events (@eddy/sources' adapter). */
export const ApiServerSourceSpec = Strict({
  resources: Type.Optional(
    Type.Array(
      Strict({
        apiVersion: Type.String(),
        kind: Type.String(),
        selector: Type.Optional(LabelSelector),
      }),
    ),
  ),
  owner: Type.Optional(Strict({ apiVersion: Type.String(), kind: Type.String() })),
  mode: Type.Optional(Type.String()),
  serviceAccountName: Type.Optional(Type.String()),
  namespaceSelector: Type.Optional(LabelSelector),
  filters: Type.Optional(Type.Array(SubscriptionsAPIFilter)),
  ...SourceSpecFields,
});

export const ApiServerSource = KindSchema(['sources.knative.dev/v1'], 'ApiServerSource', ApiServerSourceSpec);
export type ApiServerSource = Static<typeof ApiServerSource>;

const KafkaNetSpec = Strict({
  sasl: Type.Optional(
    Strict({
      enable: Type.Optional(Type.Boolean()),
      user: Type.Optional(SecretValueFromSource),
      password: Type.Optional(SecretValueFromSource),
      type: Type.Optional(SecretValueFromSource),
      roleARN: Type.Optional(SecretValueFromSource),
      tokenProvider: Type.Optional(SecretValueFromSource),
    }),
  ),
  tls: Type.Optional(
    Strict({
      enable: Type.Optional(Type.Boolean()),
      cert: Type.Optional(SecretValueFromSource),
      key: Type.Optional(SecretValueFromSource),
      caCert: Type.Optional(SecretValueFromSource),
    }),
  ),
});

/** sources.knative.dev/v1beta1 and v1 KafkaSource (eventing-kafka-broker). */
export const KafkaSourceSpec = Strict({
  bootstrapServers: Type.Array(Type.String()),
  topics: Type.Array(Type.String()),
  consumerGroup: Type.Optional(Type.String()),
  consumers: Type.Optional(Type.Integer({ minimum: 1 })),
  initialOffset: Type.Optional(StringEnum(['earliest', 'latest'] as const)),
  ordering: Type.Optional(StringEnum(['ordered', 'unordered'] as const)),
  net: Type.Optional(KafkaNetSpec),
  delivery: Type.Optional(DeliverySpec),
  /** Pod resources of the (Kubernetes-mode) adapter; ignored in embedded mode. */
  resources: Type.Optional(Type.Unknown()),
  ...SourceSpecFields,
});

export const KafkaSource = KindSchema(
  ['sources.knative.dev/v1', 'sources.knative.dev/v1beta1'],
  'KafkaSource',
  KafkaSourceSpec,
);
export type KafkaSource = Static<typeof KafkaSource>;

/** sources.knative.dev/v1alpha1 GitHubSource (eventing-github). */
export const GitHubSourceSpec = Strict({
  /** `owner/repository`, or `owner` alone for an organization-wide webhook. */
  ownerAndRepository: Type.String(),
  eventTypes: Type.Array(Type.String(), { minItems: 1 }),
  accessToken: SecretValueFromSource,
  secretToken: SecretValueFromSource,
  githubAPIURL: Type.Optional(Type.String()),
  secure: Type.Optional(Type.Boolean()),
  serviceAccountName: Type.Optional(Type.String()),
  ...SourceSpecFields,
});

export const GitHubSource = KindSchema(['sources.knative.dev/v1alpha1'], 'GitHubSource', GitHubSourceSpec);
export type GitHubSource = Static<typeof GitHubSource>;

/**
 * sources.eddy.dev/v1alpha1 SqsSource (Eddy's own; Knative's AWS SQS source is retired).
 * Receives from one queue and deletes each message only after the sink accepted it.
 */
export const SqsSourceSpec = Strict({
  /** Absolute queue URL, e.g. `https://sqs.eu-west-1.amazonaws.com/123456789012/orders`. */
  queueUrl: Type.String(),
  /** AWS region; when omitted, taken from a `sqs.<region>.amazonaws.com` queue URL. */
  region: Type.Optional(Type.String()),
  /** Endpoint override for SQS-compatible servers (ElasticMQ, LocalStack). */
  endpoint: Type.Optional(Type.String()),
  /** Static credentials from secrets; when omitted the AWS default credential chain is used. */
  credentials: Type.Optional(
    Strict({
      accessKeyId: SecretValueFromSource,
      secretAccessKey: SecretValueFromSource,
      sessionToken: Type.Optional(SecretValueFromSource),
    }),
  ),
  /** Messages per ReceiveMessage call (SQS allows 1..10). */
  batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  /** Long-polling wait per receive (SQS allows 0..20 s). */
  waitTimeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
  /** How long a received message stays hidden while it is delivered (SQS allows 0..43200 s). */
  visibilityTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 43200 })),
  ...SourceSpecFields,
});

export const SqsSource = KindSchema(['sources.eddy.dev/v1alpha1'], 'SqsSource', SqsSourceSpec);
export type SqsSource = Static<typeof SqsSource>;

/**
 * sources.eddy.dev/v1alpha1 PubSubSource (Eddy's own; Knative's GCP sources are retired).
 * Pulls from one subscription and acks each message only after the sink accepted it.
 */
export const PubSubSourceSpec = Strict({
  /** Google Cloud project id. */
  project: Type.String(),
  /** Subscription id (not the full path). */
  subscription: Type.String(),
  /** Topic id: when set and the subscription does not exist, Eddy creates it on this topic. */
  topic: Type.Optional(Type.String()),
  /** Ack deadline of a created subscription (Pub/Sub allows 10..600 s). */
  ackDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 600 })),
  flowControl: Type.Optional(
    Strict({
      maxMessages: Type.Optional(Type.Integer({ minimum: 1 })),
      maxBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
  /** `host:port` of a Pub/Sub emulator or private endpoint. */
  endpoint: Type.Optional(Type.String()),
  /** Service-account key (JSON) from a secret; when omitted Application Default Credentials are used. */
  credentials: Type.Optional(SecretValueFromSource),
  ...SourceSpecFields,
});

export const PubSubSource = KindSchema(['sources.eddy.dev/v1alpha1'], 'PubSubSource', PubSubSourceSpec);
export type PubSubSource = Static<typeof PubSubSource>;
