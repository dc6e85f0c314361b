import { type Static, Type } from '@sinclair/typebox';
import { KindSchema, ObjectMeta, PodSpecFields } from './common.js';
import { Strict } from './helpers.js';

/** serving.knative.dev/v1 RevisionSpec: a PodSpec plus Knative's request handling settings. */
export const RevisionSpec = Strict({
  ...PodSpecFields,
  /** Max in-flight requests per replica; 0 = unlimited. */
  containerConcurrency: Type.Optional(Type.Integer()),
  timeoutSeconds: Type.Optional(Type.Integer()),
  responseStartTimeoutSeconds: Type.Optional(Type.Integer()),
  idleTimeoutSeconds: Type.Optional(Type.Integer()),
});
export type RevisionSpec = Static<typeof RevisionSpec>;

export const RevisionTemplateSpec = Strict({
  metadata: Type.Optional(ObjectMeta),
  spec: RevisionSpec,
});

export const ConfigurationSpec = {
  template: RevisionTemplateSpec,
};

export const TrafficTarget = Strict({
  tag: Type.Optional(Type.String()),
  revisionName: Type.Optional(Type.String()),
  configurationName: Type.Optional(Type.String()),
  latestRevision: Type.Optional(Type.Boolean()),
  percent: Type.Optional(Type.Integer()),
  url: Type.Optional(Type.String()),
});
export type TrafficTarget = Static<typeof TrafficTarget>;

const SERVING_V1 = ['serving.knative.dev/v1'] as const;

export const Service = KindSchema(
  SERVING_V1,
  'Service',
  Strict({ ...ConfigurationSpec, traffic: Type.Optional(Type.Array(TrafficTarget)) }),
);
export type Service = Static<typeof Service>;

export const Configuration = KindSchema(SERVING_V1, 'Configuration', Strict(ConfigurationSpec));
export type Configuration = Static<typeof Configuration>;

export const Revision = KindSchema(SERVING_V1, 'Revision', RevisionSpec);
export type Revision = Static<typeof Revision>;

export const Route = KindSchema(
  SERVING_V1,
  'Route',
  Strict({ traffic: Type.Optional(Type.Array(TrafficTarget)) }),
);
export type Route = Static<typeof Route>;
