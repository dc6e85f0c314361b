import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { IntOrString, Lenient, NumberOrString, Strict, StringEnum, StringMap } from './helpers.js';

/** metadata: Kubernetes ObjectMeta (all of its fields are listed, so a typo such as `namspace` is caught). */
export const ObjectMeta = Strict({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.Unknown()),
  deletionTimestamp: Type.Optional(Type.Unknown()),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  ownerReferences: Type.Optional(Type.Array(Type.Unknown())),
  finalizers: Type.Optional(Type.Array(Type.String())),
  managedFields: Type.Optional(Type.Array(Type.Unknown())),
  selfLink: Type.Optional(Type.String()),
});
export type ObjectMeta = Static<typeof ObjectMeta>;

/** knative.dev/pkg duckv1.KReference: a reference to an addressable object. */
export const KReference = Strict({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
});
export type KReference = Static<typeof KReference>;

/** duckv1.Destination: `ref`, `uri` (absolute, or relative to the ref), optional CA certs and audience. */
export const Destination = Strict({
  ref: Type.Optional(KReference),
  uri: Type.Optional(Type.String()),
  CACerts: Type.Optional(Type.String()),
  audience: Type.Optional(Type.String()),
});
export type Destination = Static<typeof Destination>;

export const BackoffPolicy = StringEnum(['linear', 'exponential'] as const);

/** eventing duckv1.DeliverySpec. Durations are ISO-8601 strings, checked by the semantic rules. */
export const DeliverySpec = Strict({
  deadLetterSink: Type.Optional(Destination),
  retry: Type.Optional(Type.Integer({ minimum: 0 })),
  timeout: Type.Optional(Type.String()),
  backoffPolicy: Type.Optional(BackoffPolicy),
  backoffDelay: Type.Optional(Type.String()),
  retryAfterMax: Type.Optional(Type.String()),
  format: Type.Optional(StringEnum(['json', 'binary'] as const)),
});
export type DeliverySpec = Static<typeof DeliverySpec>;

export const FILTER_SCHEMA_ID = 'SubscriptionsAPIFilter';

/** Trigger/ApiServerSource `filters[]` entry: exactly one dialect per entry (enforced by the semantic rules). */
export const SubscriptionsAPIFilterSchema = Type.Recursive(
  (Self) =>
    Strict({
      all: Type.Optional(Type.Array(Self)),
      any: Type.Optional(Type.Array(Self)),
      not: Type.Optional(Self),
      exact: Type.Optional(StringMap),
      prefix: Type.Optional(StringMap),
      suffix: Type.Optional(StringMap),
      cesql: Type.Optional(Type.String()),
    }),
  { $id: FILTER_SCHEMA_ID },
);
export type SubscriptionsAPIFilter = Static<typeof SubscriptionsAPIFilterSchema>;
/** Reference to the filter schema (registered once with ajv, see schema-validator.ts). */
export const SubscriptionsAPIFilter = Type.Unsafe<SubscriptionsAPIFilter>(Type.Ref(FILTER_SCHEMA_ID));

/** duckv1.CloudEventOverrides. */
export const CloudEventOverrides = Strict({
  extensions: Type.Optional(StringMap),
});

/** The `sink` + `ceOverrides` every source has (duckv1.SourceSpec). */
export const SourceSpecFields = {
  sink: Destination,
  ceOverrides: Type.Optional(CloudEventOverrides),
};

/** corev1.SecretKeySelector. */
export const SecretKeySelector = Strict({
  name: Type.String(),
  key: Type.String(),
  optional: Type.Optional(Type.Boolean()),
});

/** `{ secretKeyRef: { name, key } }` as used by Knative sources for credentials. */
export const SecretValueFromSource = Strict({
  secretKeyRef: Type.Optional(SecretKeySelector),
});

export const LabelSelector = Strict({
  matchLabels: Type.Optional(StringMap),
  matchExpressions: Type.Optional(
    Type.Array(
      Strict({
        key: Type.String(),
        operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
        values: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
});
export type LabelSelector = Static<typeof LabelSelector>;

export const EnvVar = Strict({
  name: Type.String(),
  value: Type.Optional(Type.String()),
  valueFrom: Type.Optional(Type.Unknown()),
});

export const ContainerPort = Strict({
  containerPort: Type.Integer(),
  name: Type.Optional(Type.String()),
  protocol: Type.Optional(StringEnum(['TCP', 'UDP', 'SCTP'] as const)),
  hostPort: Type.Optional(Type.Integer()),
  hostIP: Type.Optional(Type.String()),
});

const ProbeAction = {
  httpGet: Type.Optional(Lenient({ path: Type.Optional(Type.String()), port: Type.Optional(IntOrString) })),
  tcpSocket: Type.Optional(Lenient({ port: Type.Optional(IntOrString) })),
  exec: Type.Optional(Lenient({ command: Type.Optional(Type.Array(Type.String())) })),
  grpc: Type.Optional(Lenient({ port: Type.Optional(Type.Integer()) })),
};

export const Probe = Lenient({
  ...ProbeAction,
  initialDelaySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  periodSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  successThreshold: Type.Optional(Type.Integer({ minimum: 0 })),
  failureThreshold: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const ResourceRequirements = Lenient({
  limits: Type.Optional(Type.Record(Type.String(), NumberOrString)),
  requests: Type.Optional(Type.Record(Type.String(), NumberOrString)),
});

const anyOf = (names: string[]) => Object.fromEntries(names.map((n) => [n, Type.Optional(Type.Unknown())]));

/**
 * corev1.Container: the fields Eddy uses are typed, the other Kubernetes fields are listed (so a typo is
 * still an unknown-field error) and passed through. In embedded mode a container runs as a local process
 * from `command` + `args` (with `env` and `workingDir`), so Eddy accepts a container with a command and no
 * image.
 */
export const Container = Strict({
  name: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  command: Type.Optional(Type.Array(Type.String())),
  args: Type.Optional(Type.Array(Type.String())),
  workingDir: Type.Optional(Type.String()),
  env: Type.Optional(Type.Array(EnvVar)),
  envFrom: Type.Optional(Type.Array(Type.Unknown())),
  ports: Type.Optional(Type.Array(ContainerPort)),
  resources: Type.Optional(ResourceRequirements),
  readinessProbe: Type.Optional(Probe),
  livenessProbe: Type.Optional(Probe),
  startupProbe: Type.Optional(Probe),
  imagePullPolicy: Type.Optional(StringEnum(['Always', 'IfNotPresent', 'Never'] as const)),
  ...anyOf([
    'volumeMounts',
    'volumeDevices',
    'securityContext',
    'lifecycle',
    'resizePolicy',
    'restartPolicy',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'stdin',
    'stdinOnce',
    'tty',
  ]),
});
export type Container = Static<typeof Container>;

/** corev1.PodSpec, same approach as Container. */
export const PodSpecFields = {
  containers: Type.Optional(Type.Array(Container)),
  initContainers: Type.Optional(Type.Array(Container)),
  volumes: Type.Optional(Type.Array(Type.Unknown())),
  serviceAccountName: Type.Optional(Type.String()),
  imagePullSecrets: Type.Optional(Type.Array(Type.Unknown())),
  enableServiceLinks: Type.Optional(Type.Boolean()),
  ...anyOf([
    'activeDeadlineSeconds',
    'affinity',
    'automountServiceAccountToken',
    'dnsConfig',
    'dnsPolicy',
    'ephemeralContainers',
    'hostAliases',
    'hostIPC',
    'hostNetwork',
    'hostPID',
    'hostUsers',
    'hostname',
    'nodeName',
    'nodeSelector',
    'os',
    'overhead',
    'preemptionPolicy',
    'priority',
    'priorityClassName',
    'readinessGates',
    'resourceClaims',
    'resources',
    'restartPolicy',
    'runtimeClassName',
    'schedulerName',
    'schedulingGates',
    'securityContext',
    'serviceAccount',
    'setHostnameAsFQDN',
    'shareProcessNamespace',
    'subdomain',
    'terminationGracePeriodSeconds',
    'tolerations',
    'topologySpreadConstraints',
  ]),
};
export const PodSpec = Strict(PodSpecFields);
export type PodSpec = Static<typeof PodSpec>;

export const PodTemplateSpec = Strict({
  metadata: Type.Optional(ObjectMeta),
  spec: PodSpec,
});

/** `status` is written by controllers; it is accepted in input and ignored. */
export const IgnoredStatus = Type.Optional(Type.Unknown());

/**
 * What every Knative/Eddy kind is made of: one of the apiVersions it is served under, its kind,
 * metadata, its spec (the caller decides whether it is optional) and a status that is read past.
 */
export function KindSchema<const V extends readonly string[], const K extends string, S extends TSchema>(
  apiVersions: V,
  kind: K,
  spec: S,
) {
  return Strict({
    apiVersion: StringEnum(apiVersions),
    kind: Type.Literal(kind),
    metadata: ObjectMeta,
    spec,
    status: IgnoredStatus,
  });
}
