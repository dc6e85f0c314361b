// SinkBinding: no adapter runs for it; the workloads it selects send the events themselves. What it
// contributes is environment: K_SINK (the resolved sink) and K_CE_OVERRIDES (JSON of ceOverrides),
// injected into every container of each selected workload. These pure functions decide which
// bindings select a workload and what env it gets; the serving package applies the result when it
// starts a revision's processes (embedded mode) or renders a Deployment (Kubernetes mode).

import { matchesLabelSelector, type SinkBinding } from '@eddy/api';
import type { CeOverrides } from '../sdk/adapter.js';

/** Moved to @eddy/api (EventPolicy selectors use it too); exported here as before. */
export { matchesLabelSelector };

type Subject = SinkBinding['spec']['subject'];

/** A SinkBinding with its sink resolved to a URL by the control plane. */
export interface ResolvedSinkBinding {
  namespace: string;
  name: string;
  subject: Subject;
  sink: string;
  ceOverrides?: CeOverrides;
}

/** The workload a binding may apply to, e.g. a serving.knative.dev/v1 Service in embedded mode. */
export interface BindableWorkload {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface WorkloadBinding {
  /** Env to add to every container (overwriting variables of the same name). Empty when unbound. */
  env: Record<string, string>;
  /** `<namespace>/<name>` of the binding applied, when one is. */
  boundBy?: string;
  /** Other bindings that also select the workload and were not applied (see bindWorkload). */
  conflicts: string[];
}

/**
 * Whether the binding's subject selects the workload: same apiVersion and kind, same namespace
 * (the binding's, as Knative requires), and the subject's `name` or its label `selector` (an
 * empty selector selects every workload of that kind in the namespace).
 */
export function sinkBindingSelects(binding: ResolvedSinkBinding, workload: BindableWorkload): boolean {
  const s = binding.subject;
  if (s.apiVersion !== workload.apiVersion || s.kind !== workload.kind) return false;
  if ((s.namespace ?? binding.namespace) !== workload.namespace) return false;
  if (s.name !== undefined) return s.name === workload.name;
  if (s.selector !== undefined) return matchesLabelSelector(s.selector, workload.labels ?? {});
  return false;
}

/** The env a binding injects: K_SINK, and K_CE_OVERRIDES when it has ceOverrides. */
export function sinkBindingEnv(
  binding: Pick<ResolvedSinkBinding, 'sink' | 'ceOverrides'>,
): Record<string, string> {
  const env: Record<string, string> = { K_SINK: binding.sink };
  if (binding.ceOverrides) env.K_CE_OVERRIDES = JSON.stringify(binding.ceOverrides);
  return env;
}

/**
 * The binding env for one workload. When several bindings select it (Knative leaves that
 * undefined: the last webhook pass wins), Eddy applies the one whose `<namespace>/<name>` sorts
 * first, so the result never depends on the order resources were applied, and lists the others
 * in `conflicts` for the control plane to report.
 */
export function bindWorkload(
  workload: BindableWorkload,
  bindings: readonly ResolvedSinkBinding[],
): WorkloadBinding {
  const selecting = bindings
    .filter((b) => sinkBindingSelects(b, workload))
    .map((b) => ({ id: `${b.namespace}/${b.name}`, binding: b }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const [first, ...rest] = selecting;
  if (!first) return { env: {}, conflicts: [] };
  return { env: sinkBindingEnv(first.binding), boundBy: first.id, conflicts: rest.map((r) => r.id) };
}

/**
 * A container env list with the binding env applied: variables of the same name are replaced in
 * place, new ones appended, everything else kept in order.
 */
export function withBindingEnv<E extends { name: string; value?: string }>(
  env: readonly E[],
  bindingEnv: Readonly<Record<string, string>>,
): (E | { name: string; value: string })[] {
  const remaining = new Map(Object.entries(bindingEnv));
  const out: (E | { name: string; value: string })[] = env.map((e) => {
    const value = remaining.get(e.name);
    if (value === undefined) return e;
    remaining.delete(e.name);
    return { name: e.name, value };
  });
  for (const [name, value] of remaining) out.push({ name, value });
  return out;
}
