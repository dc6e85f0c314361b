import { type RuleContext, show } from './rule-context.js';
import { checkDelivery, checkDestination, checkFilters, checkMetadata } from './rules-common.js';
import type { Replay } from './schemas/replay.js';

/** RFC 3339 date-time with a zone (fractions allowed; a space for the `T`, as its section 5.6 permits). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an RFC 3339 time, or undefined when it is not one. */
export function parseRfc3339(value: string): number | undefined {
  if (!RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const CHANNEL_KINDS = ['Channel', 'InMemoryChannel', 'KafkaChannel'];

export function checkReplay(ctx: RuleContext, r: Replay): void {
  checkMetadata(ctx, r.metadata);
  const spec = r.spec;
  if (spec.broker === undefined && spec.channel === undefined)
    ctx.error(['spec', 'broker'], 'required field is missing: the Broker to replay (or "channel")');
  else if (spec.broker !== undefined && spec.channel !== undefined)
    ctx.error(['spec', 'channel'], 'expected exactly one of "broker" and "channel", found both');
  if (spec.broker === '') ctx.error(['spec', 'broker'], 'must not be empty');
  if (spec.channel !== undefined && !CHANNEL_KINDS.includes(spec.channel.kind))
    ctx.error(
      ['spec', 'channel', 'kind'],
      `expected one of ${CHANNEL_KINDS.join(', ')}, found ${show(spec.channel.kind)}`,
    );

  const from = parseRfc3339(spec.from);
  if (from === undefined)
    ctx.error(
      ['spec', 'from'],
      `expected an RFC 3339 time such as "2026-12-01T10:00:00Z", found ${show(spec.from)}`,
    );
  if (spec.to !== undefined) {
    const to = parseRfc3339(spec.to);
    if (to === undefined)
      ctx.error(
        ['spec', 'to'],
        `expected an RFC 3339 time such as "2026-12-01T12:00:00Z", found ${show(spec.to)}`,
      );
    else if (from !== undefined && to <= from)
      ctx.error(['spec', 'to'], `must be after spec.from (${spec.from}), found ${show(spec.to)}`);
  }
  checkFilters(ctx, spec.filters, ['spec', 'filters']);

  const target = spec.target;
  const given = (['triggers', 'subscriptions', 'destination'] as const).filter(
    (k) => target[k] !== undefined,
  );
  if (given.length !== 1)
    ctx.error(
      ['spec', 'target'],
      given.length === 0
        ? 'expected exactly one of "triggers", "subscriptions" and "destination", found none'
        : `expected exactly one of "triggers", "subscriptions" and "destination", found ${given.join(' and ')}`,
    );
  for (const list of ['triggers', 'subscriptions'] as const) {
    const names = target[list];
    if (names === undefined) continue;
    if (names.length === 0) ctx.error(['spec', 'target', list], 'must name at least one');
    names.forEach((name, i) => {
      if (name === '') ctx.error(['spec', 'target', list, i], 'must not be empty');
      else if (names.indexOf(name) !== i)
        ctx.error(['spec', 'target', list, i], `${show(name)} is listed twice`);
    });
  }
  if (target.triggers !== undefined && spec.channel !== undefined)
    ctx.error(
      ['spec', 'target', 'triggers'],
      'a channel has Subscriptions, not Triggers: use "subscriptions"',
    );
  if (target.subscriptions !== undefined && spec.broker !== undefined)
    ctx.error(
      ['spec', 'target', 'subscriptions'],
      'a broker has Triggers, not Subscriptions: use "triggers"',
    );
  if (target.destination !== undefined)
    checkDestination(ctx, target.destination, ['spec', 'target', 'destination']);
  if (spec.delivery !== undefined) {
    checkDelivery(ctx, spec.delivery, ['spec', 'delivery']);
    if (target.destination === undefined)
      ctx.warn(
        ['spec', 'delivery'],
        "ignored: replayed deliveries through Triggers or Subscriptions use each one's own delivery",
      );
  }
  if (spec.rate !== undefined && !(Number.isFinite(spec.rate) && spec.rate > 0))
    ctx.error(['spec', 'rate'], `expected a number of events per second > 0, found ${show(spec.rate)}`);
}
