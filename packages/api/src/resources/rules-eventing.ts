import { BROKER_CLASS_ANNOTATION } from './defaults.js';
import { parseIsoDuration } from './durations.js';
import { type RuleContext, show } from './rule-context.js';
import {
  checkAttributeNames,
  checkDelivery,
  checkDestination,
  checkFilters,
  checkMetadata,
} from './rules-common.js';
import {
  checkBrokerAnnotations,
  checkConsumerAnnotations,
  checkSubscriptionAnnotations,
  checkTopicAnnotations,
  warnTopicAnnotationsOnKafkaChannel,
} from './rules-eddy-annotations.js';
import type { Broker, Trigger } from './schemas/eventing.js';
import type { Parallel, Sequence } from './schemas/flows.js';
import type { Channel, InMemoryChannel, KafkaChannel, Subscription } from './schemas/messaging.js';

/** Broker classes Eddy serves; all of them run on Eddy's event log. */
export const SUPPORTED_BROKER_CLASSES = ['MTChannelBasedBroker', 'Kafka', 'KafkaNamespaced'] as const;

export function checkBroker(ctx: RuleContext, b: Broker): void {
  checkMetadata(ctx, b.metadata);
  const cls = b.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (cls !== undefined && !(SUPPORTED_BROKER_CLASSES as readonly string[]).includes(cls))
    ctx.error(
      ['metadata', 'annotations', BROKER_CLASS_ANNOTATION],
      `unsupported broker class ${show(cls)}; expected one of ${SUPPORTED_BROKER_CLASSES.join(', ')} (case-sensitive)`,
    );
  checkDelivery(ctx, b.spec?.delivery, ['spec', 'delivery']);
  checkTopicAnnotations(ctx, b.metadata.annotations);
  checkBrokerAnnotations(ctx, b.metadata.annotations);
}

const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';

export function checkTrigger(ctx: RuleContext, t: Trigger): void {
  checkMetadata(ctx, t.metadata);
  const spec = t.spec;
  if (!spec.broker && !spec.brokerRef)
    ctx.error(['spec', 'broker'], 'required field is missing (the name of the Broker, e.g. "default")');
  else if (spec.broker && spec.brokerRef)
    ctx.error(['spec', 'brokerRef'], 'expected exactly one of "broker" and "brokerRef", found both');
  if (spec.brokerRef?.namespace && spec.brokerRef.namespace !== ctx.namespace)
    ctx.error(
      ['spec', 'brokerRef', 'namespace'],
      `a Trigger must be in its Broker's namespace (${show(ctx.namespace)}); cross-namespace triggers are not supported`,
    );
  checkAttributeNames(ctx, spec.filter?.attributes, ['spec', 'filter', 'attributes']);
  checkFilters(ctx, spec.filters, ['spec', 'filters']);
  checkDestination(ctx, spec.subscriber, ['spec', 'subscriber']);
  checkDelivery(ctx, spec.delivery, ['spec', 'delivery']);

  const annotations = t.metadata.annotations ?? {};
  const order = annotations[DELIVERY_ORDER_ANNOTATION];
  if (order !== undefined && order !== 'ordered' && order !== 'unordered')
    ctx.error(
      ['metadata', 'annotations', DELIVERY_ORDER_ANNOTATION],
      `expected "ordered" or "unordered", found ${show(order)}`,
    );
  const dependency = annotations[DEPENDENCY_ANNOTATION];
  if (dependency !== undefined) checkDependencyAnnotation(ctx, dependency);
  checkConsumerAnnotations(ctx, annotations);
}

function checkDependencyAnnotation(ctx: RuleContext, value: string): void {
  const path = ['metadata', 'annotations', DEPENDENCY_ANNOTATION];
  let ref: unknown;
  try {
    ref = JSON.parse(value);
  } catch {
    ctx.error(path, `expected a JSON object reference {"kind","name","apiVersion"}, found ${show(value)}`);
    return;
  }
  if (!ref || typeof ref !== 'object' || Array.isArray(ref)) {
    ctx.error(path, `expected a JSON object reference {"kind","name","apiVersion"}, found ${show(value)}`);
    return;
  }
  const r = ref as Record<string, unknown>;
  const missing = ['kind', 'name', 'apiVersion'].filter((k) => typeof r[k] !== 'string' || r[k] === '');
  if (missing.length > 0) ctx.error(path, `dependency reference is missing ${missing.join(', ')}`);
  if (typeof r.namespace === 'string' && r.namespace !== '' && r.namespace !== ctx.namespace)
    ctx.error(path, `dependency namespace must be empty or the Trigger's namespace ${show(ctx.namespace)}`);
}

function warnManagedSubscribers(ctx: RuleContext, subscribers: unknown[] | undefined): void {
  if (subscribers && subscribers.length > 0)
    ctx.warn(
      ['spec', 'subscribers'],
      'ignored: spec.subscribers is written by the Subscription controller; create Subscriptions instead',
    );
}

export function checkChannel(ctx: RuleContext, c: Channel): void {
  checkMetadata(ctx, c.metadata);
  if (c.spec?.subscribers && c.spec.subscribers.length > 0)
    ctx.error(['spec', 'subscribers'], 'not allowed on a Channel: create Subscriptions instead');
  checkDelivery(ctx, c.spec?.delivery, ['spec', 'delivery']);
  checkTopicAnnotations(ctx, c.metadata.annotations);
}

export function checkInMemoryChannel(ctx: RuleContext, c: InMemoryChannel): void {
  checkMetadata(ctx, c.metadata);
  warnManagedSubscribers(ctx, c.spec?.subscribers);
  checkDelivery(ctx, c.spec?.delivery, ['spec', 'delivery']);
  checkTopicAnnotations(ctx, c.metadata.annotations);
}

export function checkKafkaChannel(ctx: RuleContext, c: KafkaChannel): void {
  checkMetadata(ctx, c.metadata);
  const retention = c.spec?.retentionDuration;
  if (retention !== undefined) {
    const d = parseIsoDuration(retention);
    if (!d || d.negative)
      ctx.error(
        ['spec', 'retentionDuration'],
        `expected a non-negative ISO-8601 duration such as "PT168H", found ${show(retention)}`,
      );
  }
  warnManagedSubscribers(ctx, c.spec?.subscribers);
  checkDelivery(ctx, c.spec?.delivery, ['spec', 'delivery']);
  warnTopicAnnotationsOnKafkaChannel(ctx, c.metadata.annotations);
}

export function checkSubscription(ctx: RuleContext, s: Subscription): void {
  checkMetadata(ctx, s.metadata);
  for (const field of ['apiVersion', 'kind', 'name'] as const)
    if (s.spec.channel[field] === '') ctx.error(['spec', 'channel', field], 'must not be empty');
  checkDestination(ctx, s.spec.subscriber, ['spec', 'subscriber']);
  if (s.spec.reply) checkDestination(ctx, s.spec.reply, ['spec', 'reply']);
  checkDelivery(ctx, s.spec.delivery, ['spec', 'delivery']);
  checkSubscriptionAnnotations(ctx, s.metadata.annotations);
}

const CHANNEL_KINDS = new Set(['InMemoryChannel', 'KafkaChannel', 'Channel']);

function checkChannelTemplate(
  ctx: RuleContext,
  template: { apiVersion: string; kind: string } | undefined,
  path: (string | number)[],
): void {
  if (template && !CHANNEL_KINDS.has(template.kind))
    ctx.error(
      [...path, 'kind'],
      `expected a channel kind (${[...CHANNEL_KINDS].join(', ')}), found ${show(template.kind)}`,
    );
}

/** flows.knative.dev/v1 Sequence: every step a Destination, the channel kind one Eddy runs. */
export function checkSequence(ctx: RuleContext, s: Sequence): void {
  checkMetadata(ctx, s.metadata);
  for (const [i, step] of s.spec.steps.entries()) {
    const { delivery, ...destination } = step;
    checkDestination(ctx, destination, ['spec', 'steps', i]);
    checkDelivery(ctx, delivery, ['spec', 'steps', i, 'delivery']);
  }
  checkChannelTemplate(ctx, s.spec.channelTemplate, ['spec', 'channelTemplate']);
  if (s.spec.reply) checkDestination(ctx, s.spec.reply, ['spec', 'reply']);
}

/** flows.knative.dev/v1 Parallel: every branch's filter, subscriber and reply Destinations. */
export function checkParallel(ctx: RuleContext, p: Parallel): void {
  checkMetadata(ctx, p.metadata);
  for (const [i, branch] of p.spec.branches.entries()) {
    if (branch.filter) checkDestination(ctx, branch.filter, ['spec', 'branches', i, 'filter']);
    checkDestination(ctx, branch.subscriber, ['spec', 'branches', i, 'subscriber']);
    if (branch.reply) checkDestination(ctx, branch.reply, ['spec', 'branches', i, 'reply']);
    checkDelivery(ctx, branch.delivery, ['spec', 'branches', i, 'delivery']);
  }
  checkChannelTemplate(ctx, p.spec.channelTemplate, ['spec', 'channelTemplate']);
  if (p.spec.reply) checkDestination(ctx, p.spec.reply, ['spec', 'reply']);
}
