import type { TSchema } from '@sinclair/typebox';
import type { RuleContext } from './rule-context.js';
import * as core from './rules-core.js';
import { checkEventPolicy } from './rules-event-policy.js';
import { checkEventType } from './rules-event-types.js';
import * as ev from './rules-eventing.js';
import { checkKafkaSink } from './rules-kafka-sink.js';
import { checkReplay } from './rules-replay.js';
import * as sv from './rules-serving.js';
import * as src from './rules-sources.js';
import { ConfigMap, SECRET_VALUE_FIELDS, Secret } from './schemas/core.js';
import { EventPolicy } from './schemas/event-policy.js';
import { EventType } from './schemas/event-types.js';
import { Broker, Trigger } from './schemas/eventing.js';
import { Parallel, Sequence } from './schemas/flows.js';
import { KafkaSink } from './schemas/kafka-sink.js';
import { Channel, InMemoryChannel, KafkaChannel, Subscription } from './schemas/messaging.js';
import { Replay } from './schemas/replay.js';
import { Configuration, Revision, Route, Service } from './schemas/serving.js';
import {
  ApiServerSource,
  ContainerSource,
  GitHubSource,
  KafkaSource,
  PingSource,
  PubSubSource,
  SinkBinding,
  SqsSource,
} from './schemas/sources.js';

export interface KindDefinition {
  kind: string;
  group: string;
  /** Versions Eddy accepts, newest first. */
  versions: readonly string[];
  schema: TSchema;
  // biome-ignore lint/suspicious/noExplicitAny: each rule takes its own resource type.
  check: (ctx: RuleContext, resource: any) => void;
  /** Top-level fields whose values no message may show (a Secret's data). */
  hiddenValues?: readonly string[];
}

const def = (
  group: string,
  versions: readonly string[],
  kind: string,
  schema: TSchema,
  // biome-ignore lint/suspicious/noExplicitAny: see KindDefinition.check.
  check: (ctx: RuleContext, resource: any) => void,
  hiddenValues?: readonly string[],
): KindDefinition => ({ group, versions, kind, schema, check, ...(hiddenValues ? { hiddenValues } : {}) });

/**
 * Every kind Eddy runs, and the two core kinds whose values the others refer to (Secret, ConfigMap;
 * group "" is the core API, `apiVersion: v1`).
 */
export const KINDS: readonly KindDefinition[] = [
  def('eventing.knative.dev', ['v1'], 'Broker', Broker, ev.checkBroker),
  def('eventing.knative.dev', ['v1'], 'Trigger', Trigger, ev.checkTrigger),
  def('eventing.knative.dev', ['v1beta3'], 'EventType', EventType, checkEventType),
  def('eventing.knative.dev', ['v1alpha1'], 'EventPolicy', EventPolicy, checkEventPolicy),
  def('messaging.knative.dev', ['v1'], 'Channel', Channel, ev.checkChannel),
  def('messaging.knative.dev', ['v1'], 'InMemoryChannel', InMemoryChannel, ev.checkInMemoryChannel),
  def('messaging.knative.dev', ['v1beta1'], 'KafkaChannel', KafkaChannel, ev.checkKafkaChannel),
  def('messaging.knative.dev', ['v1'], 'Subscription', Subscription, ev.checkSubscription),
  def('flows.knative.dev', ['v1'], 'Sequence', Sequence, ev.checkSequence),
  def('flows.knative.dev', ['v1'], 'Parallel', Parallel, ev.checkParallel),
  def('eventing.knative.dev', ['v1alpha1'], 'KafkaSink', KafkaSink, checkKafkaSink),
  def('eventing.eddy.dev', ['v1alpha1'], 'Replay', Replay, checkReplay),
  def('sources.knative.dev', ['v1', 'v1beta2'], 'PingSource', PingSource, src.checkPingSource),
  def('sources.knative.dev', ['v1'], 'ContainerSource', ContainerSource, src.checkContainerSource),
  def('sources.knative.dev', ['v1'], 'SinkBinding', SinkBinding, src.checkSinkBinding),
  def('sources.knative.dev', ['v1'], 'ApiServerSource', ApiServerSource, src.checkApiServerSource),
  def('sources.knative.dev', ['v1', 'v1beta1'], 'KafkaSource', KafkaSource, src.checkKafkaSource),
  def('sources.knative.dev', ['v1alpha1'], 'GitHubSource', GitHubSource, src.checkGitHubSource),
  def('sources.eddy.dev', ['v1alpha1'], 'SqsSource', SqsSource, src.checkSqsSource),
  def('sources.eddy.dev', ['v1alpha1'], 'PubSubSource', PubSubSource, src.checkPubSubSource),
  def('serving.knative.dev', ['v1'], 'Service', Service, sv.checkService),
  def('serving.knative.dev', ['v1'], 'Configuration', Configuration, sv.checkConfiguration),
  def('serving.knative.dev', ['v1'], 'Revision', Revision, sv.checkRevision),
  def('serving.knative.dev', ['v1'], 'Route', Route, sv.checkRoute),
  def('', ['v1'], 'Secret', Secret, core.checkSecret, SECRET_VALUE_FIELDS),
  def('', ['v1'], 'ConfigMap', ConfigMap, core.checkConfigMap),
];

/** Knative (and Eddy) kinds that are parsed but not run yet: reported as a warning, never run. */
export const LATER_KINDS: Readonly<Record<string, readonly string[]>> = {
  'eventing.knative.dev': ['EventTransform', 'RequestReply', 'IntegrationSink', 'JobSink'],
  'sources.knative.dev': ['IntegrationSource', 'CamelSource', 'RabbitmqSource', 'RedisStreamSource'],
  'bindings.knative.dev': ['KafkaBinding'],
  'messaging.knative.dev': ['NatssChannel', 'RabbitmqChannel'],
  'serving.knative.dev': ['DomainMapping'],
};

/** API groups whose kinds Eddy owns: an unknown kind there is an error (probably a typo). */
export const EDDY_GROUPS = new Set([
  'eventing.knative.dev',
  'messaging.knative.dev',
  'sources.knative.dev',
  'serving.knative.dev',
  'flows.knative.dev',
  'bindings.knative.dev',
  'sources.eddy.dev',
  'eventing.eddy.dev',
  'eddy.dev',
  'autoscaling.eddy.dev',
]);

export function supportedKindsText(): string {
  return KINDS.map((k) => `${k.group ? `${k.group}/` : ''}${k.versions.join('|')} ${k.kind}`).join(', ');
}

export type KindLookup =
  | { status: 'supported'; definition: KindDefinition }
  | { status: 'later' }
  | { status: 'foreign' }
  | { status: 'unknown-version'; definition: KindDefinition }
  | { status: 'unknown'; suggestion?: KindDefinition | undefined };

export function lookupKind(group: string, version: string, kind: string): KindLookup {
  const byKind = KINDS.filter((k) => k.kind === kind && k.group === group);
  const exact = byKind.find((k) => k.versions.includes(version));
  if (exact) return { status: 'supported', definition: exact };
  if (byKind[0]) return { status: 'unknown-version', definition: byKind[0] };
  if (LATER_KINDS[group]?.includes(kind)) return { status: 'later' };
  if (!EDDY_GROUPS.has(group)) return { status: 'foreign' };
  const lower = kind.toLowerCase();
  const suggestion =
    KINDS.find((k) => k.kind.toLowerCase() === lower) ??
    KINDS.find((k) => k.group === group && editDistance(k.kind.toLowerCase(), lower) <= 2);
  return { status: 'unknown', suggestion };
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
