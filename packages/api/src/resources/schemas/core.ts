import { type Static, Type } from '@sinclair/typebox';
import { IgnoredStatus, ObjectMeta } from './common.js';
import { Strict } from './helpers.js';

// Kubernetes core (`v1`) kinds that travel with Knative manifests and that Eddy reads: Secrets (the
// values behind every `secretKeyRef`) and ConfigMaps (`configMapKeyRef`, a Broker's `spec.config`).
// Both are maps of keys to strings; what the strings must be (base64 for `data` of a Secret and
// `binaryData` of a ConfigMap) is checked by rules-core.ts, which never shows a Secret's value.

const StringValues = Type.Record(Type.String(), Type.String());

/** v1 Secret: `data` is base64, `stringData` plain text (write-only, merged over `data`). */
export const Secret = Strict({
  apiVersion: Type.Literal('v1'),
  kind: Type.Literal('Secret'),
  metadata: ObjectMeta,
  type: Type.Optional(Type.String()),
  data: Type.Optional(StringValues),
  stringData: Type.Optional(StringValues),
  immutable: Type.Optional(Type.Boolean()),
  status: IgnoredStatus,
});
export type Secret = Static<typeof Secret>;

/** v1 ConfigMap: `data` is text, `binaryData` base64; a key may be in only one of them. */
export const ConfigMap = Strict({
  apiVersion: Type.Literal('v1'),
  kind: Type.Literal('ConfigMap'),
  metadata: ObjectMeta,
  data: Type.Optional(StringValues),
  binaryData: Type.Optional(StringValues),
  immutable: Type.Optional(Type.Boolean()),
  status: IgnoredStatus,
});
export type ConfigMap = Static<typeof ConfigMap>;

/** Top-level fields of a Secret whose values are never shown, in errors or anywhere else. */
export const SECRET_VALUE_FIELDS: readonly string[] = ['data', 'stringData'];
