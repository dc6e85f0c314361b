// The names a user types for a kind on the command line, as kubectl accepts them for Knative's CRDs:
// the singular, the plural, the CRD's short names, case-insensitively, optionally qualified with the
// API group (`services.serving.knative.dev`). Shared by every client (the CLI today, a kubectl-like
// plugin later), so it lives beside the kind table.

import { editDistance, KINDS, type KindDefinition } from './kinds.js';

export interface KindNames {
  kind: string;
  /** Lower-case singular, as `kubectl api-resources` lists it. */
  singular: string;
  plural: string;
  /** The CRD's `shortNames` (Knative's, where Knative defines them). */
  short: readonly string[];
}

const names = (kind: string, plural: string, ...short: string[]): KindNames => ({
  kind,
  singular: kind.toLowerCase(),
  plural,
  short,
});

/** One entry per kind in KINDS (a test keeps the two in step). */
export const KIND_NAMES: readonly KindNames[] = [
  names('Broker', 'brokers'),
  names('Trigger', 'triggers'),
  // Knative's EventType CRD has no short name.
  names('EventType', 'eventtypes'),
  names('EventPolicy', 'eventpolicies'),
  names('Channel', 'channels', 'ch'),
  names('InMemoryChannel', 'inmemorychannels', 'imc'),
  names('KafkaChannel', 'kafkachannels', 'kc'),
  names('Subscription', 'subscriptions', 'sub'),
  names('Sequence', 'sequences'),
  names('Parallel', 'parallels'),
  names('KafkaSink', 'kafkasinks'),
  names('Replay', 'replays'),
  names('PingSource', 'pingsources'),
  names('ContainerSource', 'containersources'),
  names('SinkBinding', 'sinkbindings'),
  names('ApiServerSource', 'apiserversources'),
  names('KafkaSource', 'kafkasources'),
  names('GitHubSource', 'githubsources'),
  names('SqsSource', 'sqssources'),
  names('PubSubSource', 'pubsubsources'),
  // Knative Serving's Service: `service` on the command line means the Knative one, since Eddy has no other.
  names('Service', 'services', 'ksvc', 'kservice', 'svc'),
  names('Configuration', 'configurations', 'config', 'cfg'),
  names('Revision', 'revisions', 'rev'),
  names('Route', 'routes', 'rt'),
  // Core kinds: kubectl's names (ConfigMap's short name is `cm`).
  names('Secret', 'secrets'),
  names('ConfigMap', 'configmaps', 'cm'),
];

export type KindNameResult =
  | { ok: true; definition: KindDefinition; names: KindNames }
  | { ok: false; message: string };

const allNames = (n: KindNames) => [n.singular, n.plural, ...n.short];

/**
 * Resolves what a user typed (`brokers`, `KSVC`, `Trigger`, `routes.serving.knative.dev`) to a kind. The
 * failure message is one line: `unknown kind "brokr" (did you mean broker?)`.
 */
export function resolveKindName(input: string): KindNameResult {
  const typed = input.trim();
  const lower = typed.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  if (name === '') return { ok: false, message: `unknown kind "${typed}": a kind name is required` };
  for (const n of KIND_NAMES) {
    if (!allNames(n).includes(name)) continue;
    const definition = KINDS.find((k) => k.kind === n.kind);
    if (!definition) continue;
    if (group !== undefined && group !== definition.group) {
      return {
        ok: false,
        message: `unknown kind "${typed}": ${n.plural} belong to ${definition.group || 'the core API (v1)'}, not ${group}`,
      };
    }
    return { ok: true, definition, names: n };
  }
  const suggestion = suggestKindName(name);
  return {
    ok: false,
    message: `unknown kind "${typed}"${suggestion ? ` (did you mean ${suggestion}?)` : ' (see `eddy get --help` for the kinds)'}`,
  };
}

/** The closest name of any kind, when it is close enough to be a typo. */
export function suggestKindName(typed: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const n of KIND_NAMES) {
    for (const candidate of allNames(n)) {
      const distance = editDistance(candidate, typed);
      // Short names are easy to hit by accident: only suggest them for an exact-length near miss.
      const limit = candidate.length <= 4 ? 1 : Math.min(3, Math.floor(candidate.length / 3));
      if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** `broker, trigger, ksvc|service, ...`: one line for help texts. */
export function kindNamesText(): string {
  return KIND_NAMES.map((n) => [n.singular, ...n.short].join('|')).join(', ');
}
