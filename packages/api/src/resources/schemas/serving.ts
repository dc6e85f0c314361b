import { type Static, Type } from '@sinclair/typebox';
import { IgnoredStatus, ObjectMeta, PodSpecFields } from './common.js';
import { Strict, StringEnum } from './helpers.js';

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

export const Service = Strict({
  apiVersion: StringEnum(SERVING_V1),
  kind: Type.Literal('Service'),
  metadata: ObjectMeta,
  spec: Strict({ ...ConfigurationSpec, traffic: Type.Optional(Type.Array(TrafficTarget)) }),
  status: IgnoredStatus,
});
export type Service = Static<typeof Service>;

export const Configuration = Strict({
  apiVersion: StringEnum(SERVING_V1),
  kind: Type.Literal('Configuration'),
  metadata: ObjectMeta,
  spec: Strict(ConfigurationSpec),
  status: IgnoredStatus,
});
export type Configuration = Static<typeof Configuration>;

export const Revision = Strict({
  apiVersion: StringEnum(SERVING_V1),
  kind: Type.Literal('Revision'),
  metadata: ObjectMeta,
  spec: RevisionSpec,
  status: IgnoredStatus,
});
export type Revision = Static<typeof Revision>;

export const Route = Strict({
  apiVersion: StringEnum(SERVING_V1),
  kind: Type.Literal('Route'),
  metadata: ObjectMeta,
  spec: Strict({ traffic: Type.Optional(Type.Array(TrafficTarget)) }),
  status: IgnoredStatus,
});
export type Route = Static<typeof Route>;
