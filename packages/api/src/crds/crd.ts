// apiextensions.k8s.io/v1 CustomResourceDefinitions generated from the TypeBox schemas in KINDS, the
// same schemas `eddy validate` checks against: one source of truth for files and for the cluster.
//
// What a CRD schema cannot say is left to the validating admission webhook, which runs `eddy validate`'s
// own rules (packages/cli/src/controller/admission). Where the TypeBox schema says more than Kubernetes'
// structural dialect can (recursive filters, number-or-string quantities), the CRD is looser and the
// webhook is exact.

import type { TSchema } from '@sinclair/typebox';
import {
  DEFAULT_BROKER_DELIVERY,
  DEFAULT_CHANNEL_TEMPLATE,
  DEFAULT_CONTAINER_CONCURRENCY,
  DEFAULT_KAFKA_CHANNEL,
  DEFAULT_PING_SCHEDULE,
  DEFAULT_REVISION_TIMEOUT_SECONDS,
} from '../resources/defaults.js';
import type { KindDefinition } from '../resources/kinds.js';
import { FILTER_SCHEMA_ID, SubscriptionsAPIFilterSchema } from '../resources/schemas/common.js';
import { type CrdNames, crdKinds } from './crd-names.js';
import type { JsonSchemaProps } from './structural.js';

/** Named schemas a `$ref` may point at (TypeBox's Type.Ref by $id). */
const REFS: Readonly<Record<string, TSchema>> = { [FILTER_SCHEMA_ID]: SubscriptionsAPIFilterSchema };

/**
 * How often a recursive schema (a filter's `all`/`any`/`not`) is unrolled before the CRD gives up and
 * preserves unknown fields: structural schemas cannot recurse. Three levels cover every filter in the
 * Knative docs; deeper ones are still checked, field by field, by the webhook.
 */
const REF_DEPTH = 3;

const PRESERVE: JsonSchemaProps = { 'x-kubernetes-preserve-unknown-fields': true };

/** JSON Schema keywords copied unchanged: both dialects mean the same by them. */
const COPIED = [
  'enum',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'description',
] as const;

/** Keywords of TypeBox output that carry nothing for Kubernetes. */
const DROPPED = new Set(['$id', 'additionalProperties', 'required', 'properties', 'patternProperties']);

/**
 * Converts a TypeBox (JSON Schema) node to a structural schema node. Throws on a keyword it does not
 * know, so a schema feature added later cannot silently vanish from the CRDs.
 */
export function toStructural(
  node: TSchema,
  refDepth: Readonly<Record<string, number>> = {},
): JsonSchemaProps {
  if (typeof node.$ref === 'string') {
    const target = REFS[node.$ref];
    if (!target) throw new Error(`unknown $ref ${node.$ref}`);
    const depth = refDepth[node.$ref] ?? 0;
    // The bottom of an unrolled recursion: an object whose content the webhook checks.
    if (depth >= REF_DEPTH) return { type: 'object', ...PRESERVE };
    return toStructural(target, { ...refDepth, [node.$ref]: depth + 1 });
  }
  // `const` does not exist in Kubernetes' dialect; a one-value enum says the same.
  if (node.const !== undefined) return { type: node.type as JsonSchemaProps['type'], enum: [node.const] };
  if (Array.isArray(node.type)) {
    const types = [...node.type].sort().join(',');
    // IntOrString: Kubernetes' own marker. Anything else (number-or-string quantities) has no structural
    // form: the value is preserved and the webhook checks its type.
    return types === 'integer,string' ? { 'x-kubernetes-int-or-string': true } : { ...PRESERVE };
  }
  for (const key of Object.keys(node))
    if (
      !DROPPED.has(key) &&
      key !== 'type' &&
      key !== 'items' &&
      !(COPIED as readonly string[]).includes(key)
    )
      throw new Error(`toStructural: unsupported JSON Schema keyword ${key}`);
  // Type.Unknown(): any value.
  if (node.type === undefined) return { ...PRESERVE };
  const out: JsonSchemaProps = { type: node.type as JsonSchemaProps['type'] };
  for (const key of COPIED) if (node[key] !== undefined) (out as Record<string, unknown>)[key] = node[key];
  if (node.type === 'array') out.items = toStructural(node.items as TSchema, refDepth);
  if (node.type === 'object') {
    const props = node.properties as Record<string, TSchema> | undefined;
    const pattern = node.patternProperties as Record<string, TSchema> | undefined;
    if (props) {
      out.properties = Object.fromEntries(
        Object.entries(props).map(([k, v]) => [k, toStructural(v, refDepth)]),
      );
      const required = (node.required as string[] | undefined)?.filter((r) => r in props);
      if (required && required.length > 0) out.required = required;
    }
    // Type.Record(String, X): a map, i.e. additionalProperties in Kubernetes' dialect.
    if (pattern) {
      const values = Object.values(pattern);
      if (values.length !== 1 || props)
        throw new Error('toStructural: only Record(String, X) maps are supported');
      out.additionalProperties = toStructural(values[0]!, refDepth);
    }
    // Lenient objects (Kubernetes types Eddy reads only partly) and schema-less maps keep unknown fields;
    // Strict ones prune them (and kubectl's strict field validation names the unknown field).
    if (node.additionalProperties === true || (!props && !pattern))
      out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

/**
 * Defaults the API server itself applies (structural `default:`), each the same value `eddy validate`'s
 * applyDefaults sets when the field is absent; a unit test runs both and compares. Defaults that depend
 * on other fields, on the namespace or name, on metadata, or that replace a present-but-empty value (0,
 * "", []) cannot be structural: the mutating webhook (`/default`) applies them with applyDefaults itself.
 * Paths are below the root; `[]` stands for every item of a list.
 */
const STRUCTURAL_DEFAULTS: Readonly<Record<string, readonly (readonly [string, unknown])[]>> = {
  Broker: [
    ['spec', {}],
    ['spec.delivery', DEFAULT_BROKER_DELIVERY],
  ],
  Trigger: [['spec.filter', {}]],
  Channel: [
    ['spec', {}],
    ['spec.channelTemplate', DEFAULT_CHANNEL_TEMPLATE],
  ],
  InMemoryChannel: [['spec', {}]],
  KafkaChannel: [
    ['spec', {}],
    ['spec.numPartitions', DEFAULT_KAFKA_CHANNEL.numPartitions],
    ['spec.replicationFactor', DEFAULT_KAFKA_CHANNEL.replicationFactor],
    ['spec.retentionDuration', DEFAULT_KAFKA_CHANNEL.retentionDuration],
  ],
  PingSource: [['spec.schedule', DEFAULT_PING_SCHEDULE]],
  ApiServerSource: [
    ['spec.mode', 'Reference'],
    ['spec.serviceAccountName', 'default'],
  ],
  KafkaSource: [
    ['spec.consumers', 1],
    ['spec.initialOffset', 'latest'],
    ['spec.ordering', 'ordered'],
  ],
  SqsSource: [
    ['spec.batchSize', 10],
    ['spec.waitTimeSeconds', 20],
  ],
  PubSubSource: [
    ['spec.ackDeadlineSeconds', 60],
    ['spec.flowControl', {}],
    ['spec.flowControl.maxMessages', 100],
  ],
  Service: [
    ['spec.template.spec.timeoutSeconds', DEFAULT_REVISION_TIMEOUT_SECONDS],
    ['spec.template.spec.containerConcurrency', DEFAULT_CONTAINER_CONCURRENCY],
    ['spec.traffic', [{ percent: 100, latestRevision: true }]],
    ['spec.traffic[].percent', 0],
  ],
  Configuration: [
    ['spec.template.spec.timeoutSeconds', DEFAULT_REVISION_TIMEOUT_SECONDS],
    ['spec.template.spec.containerConcurrency', DEFAULT_CONTAINER_CONCURRENCY],
  ],
  Revision: [
    ['spec.timeoutSeconds', DEFAULT_REVISION_TIMEOUT_SECONDS],
    ['spec.containerConcurrency', DEFAULT_CONTAINER_CONCURRENCY],
  ],
  Route: [['spec.traffic[].percent', 0]],
};

/** The node at a dotted path (`a.b[].c`); throws when the schema has no such field. */
function nodeAt(root: JsonSchemaProps, path: string): JsonSchemaProps {
  let cur = root;
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    const next = cur.properties?.[name];
    if (!next || (list && !next.items)) throw new Error(`no field ${path} in the schema`);
    cur = list ? next.items! : next;
  }
  return cur;
}

/** The sum of a traffic block's percents, in CEL (absent percents count 0, as in rules-serving). */
const TRAFFIC_SUM = 'self.map(t, has(t.percent) ? t.percent : 0).sum()';

/**
 * `format` rather than `'...' + string(sum)`: the API server's cost estimator cannot bound the length of
 * string(), and refuses a CRD whose messageExpression uses it on a list (measured on kube-apiserver 1.37).
 */
const TRAFFIC_SUM_MESSAGE = `'traffic percents sum to %d, expected 100'.format([${TRAFFIC_SUM}])`;

/**
 * CEL rules: checks the API server can run itself, so they hold even where the webhook is not
 * registered. Each message is the text `eddy validate` prints for the same problem (rules-serving's
 * "traffic percents sum to N, expected 100"); the webhook reports it too when CEL is bypassed.
 */
const CEL_RULES: Readonly<
  Record<string, readonly (readonly [string, { rule: string; messageExpression: string }])[]>
> = {
  // A Service's empty traffic list is defaulted (100% to the latest revision), so only a non-empty one counts.
  Service: [
    [
      'spec.traffic',
      {
        rule: `self.size() == 0 || ${TRAFFIC_SUM} == 100`,
        messageExpression: TRAFFIC_SUM_MESSAGE,
      },
    ],
  ],
  Route: [
    [
      'spec.traffic',
      {
        rule: `${TRAFFIC_SUM} == 100`,
        messageExpression: TRAFFIC_SUM_MESSAGE,
      },
    ],
  ],
};

/**
 * Upper bounds the CEL cost estimator needs for a rule over a list (without one it assumes a list as long
 * as a request can hold, and refuses the CRD). Far above anything a Route splits traffic into.
 */
const CEL_LIST_BOUNDS: Readonly<Record<string, readonly (readonly [string, number])[]>> = {
  Service: [['spec.traffic', 100]],
  Route: [['spec.traffic', 100]],
};

/** The openAPIV3Schema of one kind: its TypeBox schema converted, with defaults and CEL rules. */
export function crdSchema(def: KindDefinition): JsonSchemaProps {
  const converted = toStructural(def.schema);
  const props = converted.properties ?? {};
  const root: JsonSchemaProps = {
    type: 'object',
    properties: {
      // The API server checks apiVersion and kind against the CRD's names; the schema only types them.
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // ObjectMeta's schema belongs to the API server; a CRD may not describe it.
      metadata: { type: 'object' },
      ...(props.spec ? { spec: props.spec } : {}),
      // Written by the controller through the status subresource, in Knative's duck shapes.
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
  if (converted.required?.includes('spec')) root.required = ['spec'];
  for (const [path, value] of STRUCTURAL_DEFAULTS[def.kind] ?? [])
    nodeAt(root, path).default = structuredClone(value);
  for (const [path, max] of CEL_LIST_BOUNDS[def.kind] ?? []) nodeAt(root, path).maxItems = max;
  for (const [path, rule] of CEL_RULES[def.kind] ?? []) {
    const node = nodeAt(root, path);
    node['x-kubernetes-validations'] = [...(node['x-kubernetes-validations'] ?? []), { ...rule }];
  }
  return root;
}

interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer';
  jsonPath: string;
  priority?: number;
}

const col = (name: string, jsonPath: string, type: PrinterColumn['type'] = 'string'): PrinterColumn => ({
  name,
  type,
  jsonPath,
});
const AGE = col('Age', '.metadata.creationTimestamp', 'date');
const READY = col('Ready', ".status.conditions[?(@.type=='Ready')].status");
const REASON = col('Reason', ".status.conditions[?(@.type=='Ready')].reason");
const ADDRESS_URL = col('URL', '.status.address.url');
const SINK = col('Sink', '.status.sinkUri');
const LATEST_CREATED = col('LatestCreated', '.status.latestCreatedRevisionName');
const LATEST_READY = col('LatestReady', '.status.latestReadyRevisionName');

/** `kubectl get` columns, as Knative's CRDs define them (Eddy's own kinds follow the same pattern). */
const PRINTER_COLUMNS: Readonly<Record<string, readonly PrinterColumn[]>> = {
  Broker: [ADDRESS_URL, AGE, READY, REASON],
  Trigger: [
    col('Broker', '.spec.broker'),
    col('Subscriber_URI', '.status.subscriberUri'),
    AGE,
    READY,
    REASON,
  ],
  // Knative's columns; Eddy's discovery data (status.annotations eddy.dev/*) with `-o wide`.
  EventType: [
    col('Type', ".spec.attributes[?(@.name=='type')].value"),
    col('Source', ".spec.attributes[?(@.name=='source')].value"),
    col('Reference Name', '.spec.reference.name'),
    col('Reference Kind', '.spec.reference.kind'),
    col('Description', '.spec.description'),
    READY,
    REASON,
    { ...col('Last Seen', '.status.annotations.eddy\\.dev/last-seen'), priority: 1 },
    { ...col('Rate', '.status.annotations.eddy\\.dev/rate'), priority: 1 },
  ],
  Channel: [ADDRESS_URL, AGE, READY, REASON],
  InMemoryChannel: [ADDRESS_URL, AGE, READY, REASON],
  KafkaChannel: [ADDRESS_URL, AGE, READY, REASON],
  Subscription: [AGE, READY, REASON],
  Sequence: [ADDRESS_URL, AGE, READY, REASON],
  Parallel: [ADDRESS_URL, AGE, READY, REASON],
  KafkaSink: [ADDRESS_URL, AGE, READY, REASON],
  Replay: [
    col('Broker', '.spec.broker'),
    col('From', '.spec.from'),
    col('To', '.spec.to'),
    AGE,
    READY,
    REASON,
  ],
  PingSource: [SINK, col('Schedule', '.spec.schedule'), AGE, READY, REASON],
  ContainerSource: [SINK, AGE, READY, REASON],
  SinkBinding: [SINK, AGE, READY, REASON],
  ApiServerSource: [SINK, AGE, READY, REASON],
  KafkaSource: [
    col('Topics', '.spec.topics'),
    col('BootstrapServers', '.spec.bootstrapServers'),
    SINK,
    AGE,
    READY,
    REASON,
  ],
  GitHubSource: [SINK, AGE, READY, REASON],
  SqsSource: [SINK, AGE, READY, REASON],
  PubSubSource: [SINK, AGE, READY, REASON],
  Service: [col('URL', '.status.url'), LATEST_CREATED, LATEST_READY, READY, REASON],
  Configuration: [LATEST_CREATED, LATEST_READY, READY, REASON],
  Revision: [
    col('Config Name', ".metadata.labels['serving\\.knative\\.dev/configuration']"),
    col('Generation', ".metadata.labels['serving\\.knative\\.dev/configurationGeneration']"),
    READY,
    REASON,
    col('Actual Replicas', '.status.actualReplicas', 'integer'),
    col('Desired Replicas', '.status.desiredReplicas', 'integer'),
  ],
  Route: [col('URL', '.status.url'), READY, REASON],
};

/**
 * The scale subresource, only where `spec` has a replica count that an autoscaler (KEDA, HPA) may set:
 * a KafkaSource's `consumers`, as eventing-kafka-broker's CRD has it. Serving kinds have none: their
 * scale is the autoscaler's own decision, read from annotations.
 */
const SCALE: Readonly<Record<string, object>> = {
  KafkaSource: {
    specReplicasPath: '.spec.consumers',
    statusReplicasPath: '.status.consumers',
    labelSelectorPath: '.status.selector',
  },
};

/** Knative's duck-type labels, which Knative tooling (and Eddy's resolver) use to find kinds by role. */
function duckLabels(names: CrdNames): Record<string, string> {
  const labels: Record<string, string> = {};
  if (['Broker', 'Channel', 'InMemoryChannel', 'KafkaChannel', 'Service', 'Route'].includes(names.kind))
    labels['duck.knative.dev/addressable'] = 'true';
  if (['InMemoryChannel', 'KafkaChannel', 'Channel'].includes(names.kind))
    labels['messaging.knative.dev/subscribable'] = 'true';
  if (names.categories.includes('sources')) labels['duck.knative.dev/source'] = 'true';
  if (names.kind === 'SinkBinding') labels['duck.knative.dev/binding'] = 'true';
  return labels;
}

/** Label on every generated CRD, so `kubectl get crd -l eddy.dev/crd=true` lists (and deletes) them. */
export const EDDY_CRD_LABEL = 'eddy.dev/crd';

export function customResourceDefinition(def: KindDefinition, names: CrdNames): Record<string, unknown> {
  const schema = crdSchema(def);
  const scale = SCALE[def.kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: names.crdName,
      labels: { [EDDY_CRD_LABEL]: 'true', 'app.kubernetes.io/part-of': 'eddy', ...duckLabels(names) },
    },
    spec: {
      group: names.group,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        ...(names.shortNames.length > 0 ? { shortNames: [...names.shortNames] } : {}),
        categories: [...names.categories],
      },
      scope: 'Namespaced',
      // Every accepted version has the same schema (Eddy's KindDefinition has one per kind), so the API
      // server converts between them by rewriting apiVersion only.
      conversion: { strategy: 'None' },
      versions: names.versions.map((version) => ({
        name: version,
        served: true,
        storage: version === names.version,
        schema: { openAPIV3Schema: structuredClone(schema) },
        subresources: { status: {}, ...(scale ? { scale } : {}) },
        additionalPrinterColumns: (PRINTER_COLUMNS[def.kind] ?? [AGE, READY, REASON]).map((c) => ({ ...c })),
      })),
    },
  };
}

/** One CRD per kind Eddy serves as a custom resource (every KINDS entry but the core Secret and ConfigMap). */
export function customResourceDefinitions(): Record<string, unknown>[] {
  return crdKinds().map(({ definition, names }) => customResourceDefinition(definition, names));
}
