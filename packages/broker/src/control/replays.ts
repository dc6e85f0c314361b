// A Replay: its source's topic and its targets' routes -> the ReplayPlan the dispatchers run, and
// its status from the checkpoints' progress. Runs after the Triggers and Subscriptions are settled:
// a target is a Ready Trigger's (Subscription's) route on the Replay's own consumer group.
//
// Life of a Replay (Succeeded's reason): Waiting (its broker or a target is not Ready yet; Ready is
// False and says which) -> Running (or Suspended) -> Completed, or Failed when what it needs is
// deleted while it runs. `startTime` is set on the first pass that could run it and fixes the default
// end of the window: a replay never chases live traffic. A finished Replay leaves the contract (the
// dispatchers delete its groups and checkpoints) and keeps its last status as the record of what it did.

import {
  type AddressResolver,
  type BrokerRoute,
  type ChannelRoute,
  type Condition,
  type DispatchRoute,
  namespacedKey,
  parseRfc3339,
  type Replay,
  type ReplayPlan,
  type ReplayStatus,
  type ResolvedFilter,
  type ResourceEntry,
  replayGroup,
  replayTargetId,
  resolveDestination,
  subscriptionRouteId,
  triggerRouteId,
} from '@eddy/api';
import type { ReplayProgress } from '../replay/replay-progress.js';
import { resolveDelivery } from './delivery.js';
import { type Settings, show } from './options.js';
import { caCertsField } from './routes.js';
import { senderIdentity } from './sender-identity.js';

export interface ReplayContext {
  brokers: readonly BrokerRoute[];
  channels: readonly ChannelRoute[];
  /** The settled Trigger and Subscription routes. */
  routes: readonly DispatchRoute[];
  resolver: AddressResolver;
  settings: Settings;
  /** Epoch ms of this pass; without it a Replay that has not started waits. */
  now: number | undefined;
  progress: ((uid: string, targets: readonly string[]) => ReplayProgress | undefined) | undefined;
}

export interface ReconciledReplay {
  plan?: ReplayPlan;
  status: ReplayStatus;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function reconcileReplay(entry: ResourceEntry<Replay>, ctx: ReplayContext): ReconciledReplay {
  const { spec } = entry.resource;
  const stored = entry.status as ReplayStatus | undefined;
  if (isFinished(stored)) return { status: stored! };
  const uid =
    entry.metadata.uid ?? `${entry.namespace}-${entry.name}-${entry.metadata.creationTimestamp ?? ''}`;
  const id = namespacedKey(entry.namespace, entry.name);
  const started = stored?.startTime !== undefined ? Date.parse(stored.startTime) : ctx.now;
  const targetIds = (spec.target.triggers ?? spec.target.subscriptions ?? ['destination']).map((t) =>
    replayTargetId(entry.namespace, entry.name, t),
  );
  const progress = ctx.progress?.(uid, targetIds);
  const base = (): ReplayStatus => ({
    observedGeneration: entry.generation,
    conditions: [],
    ...(progress?.counts ?? { matched: 0, delivered: 0, deadLettered: 0, failed: 0, skipped: 0 }),
    ...(progress ? { total: progress.total, progress: progress.progress } : {}),
    ...(progress?.lastTimestamp !== undefined ? { lastReplayedTime: iso(progress.lastTimestamp) } : {}),
  });
  const notRunning = (reason: string, message: string): ReconciledReplay => {
    const status = base();
    // Once it ran, losing what it needs ends it; before, it waits for it.
    const failed = stored?.startTime !== undefined;
    status.conditions = conditions(
      { status: 'False', reason, message },
      failed
        ? { status: 'False', reason: 'Failed', message }
        : { status: 'Unknown', reason: 'Waiting', message },
    );
    if (stored?.startTime !== undefined) status.startTime = stored.startTime;
    if (failed && ctx.now !== undefined) status.completionTime = iso(ctx.now);
    if (stored?.window) status.window = stored.window;
    return { status };
  };

  const source = sourceOf(spec, entry.namespace, ctx);
  if (!source.ok) return notRunning(source.reason, source.message);
  const targets = targetsOf(spec, entry, uid, source.topic, source.broker, ctx);
  if (!targets.ok) return notRunning(targets.reason, targets.message);
  if (started === undefined || !Number.isFinite(started))
    return notRunning('NotStarted', 'waiting for the control plane to start it');

  const from = parseRfc3339(spec.from) ?? 0;
  const specTo = spec.to !== undefined ? parseRfc3339(spec.to) : undefined;
  const to = Math.max(from, Math.min(specTo ?? started, started));
  const status = base();
  status.startTime = iso(started);
  status.window = { from: iso(from), to: iso(to) };
  if (progress?.done) {
    status.completionTime = ctx.now !== undefined ? iso(ctx.now) : iso(started);
    const what = spec.dryRun
      ? `dry run: ${status.matched} of ${status.total ?? 0} events would be replayed`
      : `replayed ${status.matched} of ${status.total ?? 0} events`;
    status.conditions = conditions(
      { status: 'True' },
      { status: 'True', reason: 'Completed', message: what },
    );
    return { status };
  }
  status.conditions = conditions(
    { status: 'True' },
    spec.suspend
      ? { status: 'Unknown', reason: 'Suspended', message: 'suspended: spec.suspend is true' }
      : { status: 'Unknown', reason: 'Running', message: spec.dryRun ? 'counting (dry run)' : 'replaying' },
  );
  const filter: ResolvedFilter | undefined =
    spec.filters && spec.filters.length > 0 ? { filters: structuredClone(spec.filters) } : undefined;
  const plan: ReplayPlan = {
    namespace: entry.namespace,
    name: entry.name,
    id,
    uid,
    topic: source.topic,
    from,
    to,
    ...(filter ? { filter } : {}),
    targets: targets.routes.map((route) => ({ ...route, startFrom: { timestamp: from } })),
    ...(spec.rate !== undefined ? { rate: spec.rate } : {}),
    dryRun: spec.dryRun === true,
    suspended: spec.suspend === true,
  };
  return { plan, status };
}

/** Completed or Failed: the status is the record and nothing runs. */
function isFinished(status: ReplayStatus | undefined): boolean {
  const succeeded = status?.conditions?.find((c) => c.type === 'Succeeded');
  return succeeded !== undefined && succeeded.status !== 'Unknown';
}

function conditions(ready: Omit<Condition, 'type'>, succeeded: Omit<Condition, 'type'>): Condition[] {
  return [
    { type: 'Ready', ...ready },
    { type: 'Succeeded', ...succeeded },
  ];
}

type Result<T> = ({ ok: true } & T) | { ok: false; reason: string; message: string };

function sourceOf(
  spec: Replay['spec'],
  namespace: string,
  ctx: ReplayContext,
): Result<{ topic: string; broker: boolean }> {
  if (spec.broker !== undefined) {
    const broker = ctx.brokers.find((b) => b.namespace === namespace && b.name === spec.broker);
    if (!broker)
      return {
        ok: false,
        reason: 'BrokerNotReady',
        message: `Broker ${show(spec.broker)} does not exist or is not Ready`,
      };
    return { ok: true, topic: broker.topic, broker: true };
  }
  const ref = spec.channel!;
  const channel = ctx.channels.find(
    (c) => c.namespace === namespace && c.name === ref.name && c.kind === ref.kind,
  );
  if (!channel)
    return {
      ok: false,
      reason: 'ChannelNotReady',
      message: `${ref.kind} ${show(ref.name)} does not exist or is not Ready`,
    };
  return { ok: true, topic: channel.topic, broker: false };
}

function targetsOf(
  spec: Replay['spec'],
  entry: ResourceEntry<Replay>,
  uid: string,
  topic: string,
  broker: boolean,
  ctx: ReplayContext,
): Result<{ routes: DispatchRoute[] }> {
  const { namespace, name } = entry;
  const { target } = spec;
  const named = target.triggers ?? target.subscriptions;
  if (named !== undefined) {
    const kind = target.triggers !== undefined ? 'Trigger' : 'Subscription';
    const routes: DispatchRoute[] = [];
    for (const targetName of named) {
      const routeId =
        kind === 'Trigger'
          ? triggerRouteId(namespace, targetName)
          : subscriptionRouteId(namespace, targetName);
      const route = ctx.routes.find((r) => r.id === routeId);
      if (!route)
        return {
          ok: false,
          reason: `${kind}NotReady`,
          message: `${kind} ${show(targetName)} does not exist or is not Ready`,
        };
      if (route.topic !== topic)
        return {
          ok: false,
          reason: `${kind}NotOnSource`,
          message: `${kind} ${show(targetName)} is not on ${broker ? `Broker ${show(spec.broker)}` : `${spec.channel?.kind} ${show(spec.channel?.name)}`}`,
        };
      const { subscriberRef: _ref, ...rest } = route;
      routes.push({
        ...rest,
        id: replayTargetId(namespace, name, targetName),
        group: replayGroup(uid, targetName),
      });
    }
    return { ok: true, routes };
  }
  const destination = resolveDestination(target.destination, namespace, ctx.resolver);
  if (!destination.ok)
    return {
      ok: false,
      reason: 'DestinationResolveFailed',
      message: `failed to resolve spec.target.destination: ${destination.message}`,
    };
  const delivery = resolveDelivery(spec.delivery, namespace, ctx.resolver, ctx.settings.delivery);
  if (!delivery.ok)
    return {
      ok: false,
      reason: 'InvalidDelivery',
      message: `spec.delivery.${delivery.field}: ${delivery.message}`,
    };
  return {
    ok: true,
    routes: [
      {
        kind: 'Trigger',
        namespace,
        name,
        id: replayTargetId(namespace, name, 'destination'),
        topic,
        group: replayGroup(uid, 'destination'),
        subscriber: destination.url,
        // Eddy sends these itself: with an audience on the destination (or its DLS) each delivery
        // carries a token of Eddy's issuer for the Replay's own subject, as a Trigger's does.
        ...senderIdentity(
          'eventing.eddy.dev',
          'Replay',
          namespace,
          name,
          { subscriber: destination.audience, deadLetterSink: delivery.delivery.deadLetterSinkAudience },
          ctx.settings.authentication,
          undefined,
        ),
        ...caCertsField(destination),
        reply: broker ? { kind: 'topic', topic } : { kind: 'drop' },
        delivery: delivery.delivery,
        ordering: 'unordered',
        maxInFlight: ctx.settings.defaultMaxInFlight,
        startFrom: 'earliest',
      },
    ],
  };
}
