// `eddy replay`'s flags to a Replay object (eventing.eddy.dev/v1alpha1), every mistake a UsageError
// before anything connects: the server would refuse most of them too, but later and less plainly.

import { type KReference, type Replay, resolveKindName } from '@eddy/api';
import { parseTimeArgument } from '../time-argument.js';
import { UsageError } from '../usage-error.js';
import { nameArgument } from '../verb.js';
import { checkFilter } from './tail.js';

export const REPLAY_API_VERSION = 'eventing.eddy.dev/v1alpha1';

export interface ReplayFlags {
  from?: string;
  to?: string;
  trigger?: string[];
  toUri?: string;
  toRef?: string;
  filter?: string;
  rate?: string;
  dryRun?: boolean;
  name?: string;
}

/** RFC 3339 in UTC, without the `.000` a whole second would carry. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const DNS1123_LABEL_MAX = 63;

/**
 * `<broker>-replay-<yyyymmdd-hhmmss>` (UTC): a DNS-1123 label, so it is also a valid consumer-group
 * and path segment; a long or dotted broker name is shortened and dashed to fit.
 */
export function defaultReplayName(broker: string, now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .toLowerCase();
  const suffix = `-replay-${stamp}`;
  const prefix = broker
    .replace(/\./g, '-')
    .slice(0, DNS1123_LABEL_MAX - suffix.length)
    .replace(/-+$/, '');
  return `${prefix}${suffix}`;
}

function rateArgument(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (value.trim() === '' || !Number.isFinite(rate) || rate <= 0)
    throw new UsageError(`invalid --rate "${value}": expected events per second > 0, such as 100`);
  return rate;
}

function uriArgument(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `invalid --to-uri "${value}": expected an absolute URL, such as http://localhost:8080/`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`invalid --to-uri "${value}": expected an http or https URL`);
  return value;
}

/** `ksvc/display` to `{apiVersion: serving.knative.dev/v1, kind: Service, name: display}`. */
export function refArgument(value: string): KReference {
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1 || value.indexOf('/', slash + 1) >= 0)
    throw new UsageError(`invalid --to-ref "${value}": expected <kind>/<name>, such as ksvc/display`);
  const r = resolveKindName(value.slice(0, slash));
  if (!r.ok) throw new UsageError(`invalid --to-ref "${value}": ${r.message}`);
  const { group, versions, kind } = r.definition;
  const version = versions[0] ?? 'v1';
  return {
    apiVersion: group ? `${group}/${version}` : version,
    kind,
    name: nameArgument(kind.toLowerCase(), value.slice(slash + 1)),
  };
}

function targetOf(flags: ReplayFlags): Replay['spec']['target'] {
  const triggers = flags.trigger ?? [];
  const given = [
    triggers.length > 0 && '--trigger',
    flags.toUri !== undefined && '--to-uri',
    flags.toRef !== undefined && '--to-ref',
  ].filter((g): g is string => g !== false);
  if (given.length !== 1)
    throw new UsageError(
      `${given.length === 0 ? 'missing the target' : `give one target, not ${given.join(' and ')}`}: --trigger <name> (repeatable), --to-uri <url> or --to-ref <kind>/<name>`,
    );
  if (flags.toUri !== undefined) return { destination: { uri: uriArgument(flags.toUri) } };
  if (flags.toRef !== undefined) return { destination: { ref: refArgument(flags.toRef) } };
  triggers.forEach((t, i) => {
    nameArgument('trigger', t);
    if (triggers.indexOf(t) !== i) throw new UsageError(`--trigger ${t} is given twice`);
  });
  return { triggers: [...triggers] };
}

function windowOf(flags: ReplayFlags, now: number): { from: string; to?: string } {
  if (flags.from === undefined)
    throw new UsageError('missing --from: where the window starts, an RFC 3339 time or a duration ago (2h)');
  const from = parseTimeArgument(flags.from, '--from', now);
  if (from >= now)
    throw new UsageError(`--from ${flags.from} is in the future: there is nothing to replay yet`);
  if (flags.to === undefined) return { from: rfc3339(from) };
  const to = parseTimeArgument(flags.to, '--to', now);
  if (to <= from) throw new UsageError(`--to ${flags.to} must be after --from ${flags.from}`);
  return { from: rfc3339(from), to: rfc3339(to) };
}

/** The Replay `eddy replay <broker> <flags>` creates, named --name or after the broker and `now`. */
export function buildReplay(broker: string, flags: ReplayFlags, namespace: string, now: number): Replay {
  nameArgument('broker', broker);
  const name = flags.name === undefined ? defaultReplayName(broker, now) : nameArgument('replay', flags.name);
  const window = windowOf(flags, now);
  const target = targetOf(flags);
  checkFilter(flags.filter);
  const rate = rateArgument(flags.rate);
  return {
    apiVersion: REPLAY_API_VERSION,
    kind: 'Replay',
    metadata: { name, namespace },
    spec: {
      broker,
      ...window,
      ...(flags.filter !== undefined ? { filters: [{ cesql: flags.filter }] } : {}),
      target,
      ...(rate !== undefined ? { rate } : {}),
      ...(flags.dryRun ? { dryRun: true } : {}),
    },
  };
}
