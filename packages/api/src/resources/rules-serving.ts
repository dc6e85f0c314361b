import { CONTAINER_CONCURRENCY_MAX, MAX_REVISION_TIMEOUT_SECONDS } from './defaults.js';
import { parseGoDuration } from './durations.js';
import type { FieldPath } from './field-path.js';
import { dns1035LabelProblem } from './names.js';
import { type RuleContext, show } from './rule-context.js';
import { checkMetadata } from './rules-common.js';
import { checkRunnable } from './rules-sources.js';
import type { ObjectMeta } from './schemas/common.js';
import type {
  Configuration,
  Revision,
  RevisionSpec,
  Route,
  Service,
  TrafficTarget,
} from './schemas/serving.js';

const AUTOSCALING = 'autoscaling.knative.dev/';
/** Eddy's own autoscaling annotations (the backlog signal); also only effective on the revision template. */
const EDDY_AUTOSCALING = 'autoscaling.eddy.dev/';
/** Ports the queue-proxy (and Eddy's router) keep for themselves. */
const RESERVED_PORTS = new Set([8012, 8013, 8022, 9090, 9091]);
/** Set by the runtime for every revision. */
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

/** Autoscaling annotations belong on the revision template; Knative rejects them on the parent. */
function checkNoAutoscalingOnParent(ctx: RuleContext, meta: ObjectMeta): void {
  for (const key of Object.keys(meta.annotations ?? {})) {
    if (key.startsWith(AUTOSCALING) || key.startsWith(EDDY_AUTOSCALING))
      ctx.error(
        ['metadata', 'annotations', key],
        'autoscaling annotations must be put under spec.template.metadata.annotations to take effect',
      );
  }
}

type Check = (value: string) => string | undefined;

const number =
  (min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false): Check =>
  (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) return `expected a number, found ${show(v)}`;
    if (exclusiveMin ? n <= min : n < min)
      return `expected a number ${exclusiveMin ? '>' : '>='} ${min}, found ${v}`;
    if (n > max) return `expected a number <= ${max}, found ${v}`;
    return undefined;
  };

const integer =
  (min: number): Check =>
  (v) => {
    if (!/^-?\d+$/.test(v.trim())) return `expected an integer, found ${show(v)}`;
    if (Number(v) < min) return `expected an integer >= ${min}, found ${v}`;
    return undefined;
  };

const goDuration =
  (minMs: number, maxMs: number, label: string): Check =>
  (v) => {
    const ms = parseGoDuration(v);
    if (ms === undefined) return `expected a duration such as "60s" or "1m30s", found ${show(v)}`;
    if (ms < minMs || ms > maxMs) return `expected a duration ${label}, found ${show(v)}`;
    if (ms % 1000 !== 0) return `expected whole seconds, found ${show(v)}`;
    return undefined;
  };

const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v) ? undefined : `expected one of ${values.join(', ')}, found ${show(v)}`;

const HOUR = 3_600_000;

/** Knative Serving's autoscaling annotations (legacy camelCase keys included) and their ranges. */
const AUTOSCALING_CHECKS: Record<string, Check> = {
  class: oneOf('kpa.autoscaling.knative.dev', 'hpa.autoscaling.knative.dev'),
  metric: oneOf('concurrency', 'rps', 'cpu', 'memory'),
  target: number(0.01),
  'target-utilization-percentage': number(1, 100),
  targetUtilizationPercentage: number(1, 100),
  'min-scale': integer(0),
  minScale: integer(0),
  'max-scale': integer(0),
  maxScale: integer(0),
  'initial-scale': integer(0),
  initialScale: integer(0),
  'activation-scale': integer(1),
  window: goDuration(6000, HOUR, 'between 6s and 1h'),
  'panic-window-percentage': number(1, 100),
  panicWindowPercentage: number(1, 100),
  'panic-threshold-percentage': number(110, 1000),
  panicThresholdPercentage: number(110, 1000),
  'scale-to-zero-pod-retention-period': goDuration(0, Number.MAX_SAFE_INTEGER, '>= 0s'),
  'scale-down-delay': goDuration(0, HOUR, 'between 0s and 1h'),
  'target-burst-capacity': number(-1),
};

/** `autoscaling.eddy.dev/*`: the backlog signal of Eddy's autoscaler (same ranges as packages/serving's scalingSettings). */
const EDDY_AUTOSCALING_CHECKS: Record<string, Check> = {
  'lag-target': number(0, Number.POSITIVE_INFINITY, true),
  backlog: oneOf('true', 'false'),
};

function checkAutoscalingAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string>,
  base: FieldPath,
): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(AUTOSCALING)) continue;
    const check = AUTOSCALING_CHECKS[key.slice(AUTOSCALING.length)];
    const why = check?.(value);
    if (why) ctx.error([...base, key], why);
  }
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(EDDY_AUTOSCALING)) continue;
    const name = key.slice(EDDY_AUTOSCALING.length);
    const check = EDDY_AUTOSCALING_CHECKS[name];
    if (!check)
      ctx.warn(
        [...base, key],
        `unknown Eddy autoscaling annotation (known: ${Object.keys(EDDY_AUTOSCALING_CHECKS)
          .map((k) => EDDY_AUTOSCALING + k)
          .join(', ')}); it is ignored`,
      );
    const why = check?.(value);
    if (why) ctx.error([...base, key], why);
  }
  const get = (a: string, b: string) => annotations[AUTOSCALING + a] ?? annotations[AUTOSCALING + b];
  const min = Number(get('min-scale', 'minScale') ?? 0);
  const max = Number(get('max-scale', 'maxScale') ?? 0);
  if (max > 0 && min > max)
    ctx.error([...base, `${AUTOSCALING}max-scale`], `max-scale (${max}) must be >= min-scale (${min})`, base);
  const cls = annotations[`${AUTOSCALING}class`] ?? 'kpa.autoscaling.knative.dev';
  const metric = annotations[`${AUTOSCALING}metric`];
  if (cls === 'kpa.autoscaling.knative.dev' && metric && metric !== 'concurrency' && metric !== 'rps')
    ctx.error(
      [...base, `${AUTOSCALING}metric`],
      `the KPA class scales on "concurrency" or "rps", found ${show(metric)}`,
    );
  if (cls === 'hpa.autoscaling.knative.dev')
    ctx.warn([...base, `${AUTOSCALING}class`], 'Eddy has no HPA; the KPA-style autoscaler is used instead');
}

/** RevisionSpec rules (Knative's ValidatePodSpec and friends), with Eddy's command-instead-of-image relaxation. */
export function checkRevisionSpec(ctx: RuleContext, spec: RevisionSpec, base: FieldPath): void {
  const containers = spec.containers ?? [];
  if (containers.length === 0) {
    ctx.error([...base, 'containers'], 'expected at least one container, found none');
  }
  const seen = new Map<string, number>();
  containers.forEach((c, i) => {
    const path = [...base, 'containers', i];
    checkRunnable(ctx, c, path);
    if (c.name === 'queue-proxy') ctx.error([...path, 'name'], '"queue-proxy" is a reserved container name');
    if (c.name !== undefined) {
      const first = seen.get(c.name);
      if (first !== undefined)
        ctx.error([...path, 'name'], `duplicate container name ${show(c.name)} (also containers[${first}])`);
      else seen.set(c.name, i);
    }
    c.env?.forEach((e, j) => {
      if (RESERVED_ENV.has(e.name))
        ctx.error(
          [...path, 'env', j, 'name'],
          `${show(e.name)} is a reserved environment variable (set by the runtime)`,
        );
    });
    c.ports?.forEach((p, j) => {
      if (RESERVED_PORTS.has(p.containerPort))
        ctx.error([...path, 'ports', j, 'containerPort'], `${p.containerPort} is a reserved port`);
      else if (p.containerPort < 1 || p.containerPort > 65535)
        ctx.error(
          [...path, 'ports', j, 'containerPort'],
          `expected a port in 1..65535, found ${p.containerPort}`,
        );
    });
  });
  const withPorts = containers.filter((c) => c.ports && c.ports.length > 0);
  if (containers.length > 1 && withPorts.length !== 1)
    ctx.error(
      [...base, 'containers'],
      `with several containers exactly one must declare ports (the one that serves requests), found ${withPorts.length}`,
    );
  for (const c of containers.length === 1 ? containers : withPorts) {
    if ((c.ports?.length ?? 0) > 1)
      ctx.error(
        [...base, 'containers', containers.indexOf(c), 'ports'],
        'more than one container port is set; expected at most one',
      );
  }
  const timeout = spec.timeoutSeconds;
  if (timeout !== undefined && (timeout < 0 || timeout > MAX_REVISION_TIMEOUT_SECONDS))
    ctx.error([...base, 'timeoutSeconds'], `expected 0..${MAX_REVISION_TIMEOUT_SECONDS}, found ${timeout}`);
  const cc = spec.containerConcurrency;
  if (cc !== undefined && (cc < 0 || cc > CONTAINER_CONCURRENCY_MAX))
    ctx.error(
      [...base, 'containerConcurrency'],
      `expected 0..${CONTAINER_CONCURRENCY_MAX} (0 = unlimited), found ${cc}`,
    );
  for (const field of ['responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const) {
    const v = spec[field];
    if (v !== undefined && v < 0) ctx.error([...base, field], `expected >= 0, found ${v}`);
  }
}

function checkTemplate(
  ctx: RuleContext,
  template: { metadata?: ObjectMeta; spec: RevisionSpec },
  parentName: string | undefined,
): void {
  const base = ['spec', 'template'];
  checkAutoscalingAnnotations(ctx, template.metadata?.annotations ?? {}, [
    ...base,
    'metadata',
    'annotations',
  ]);
  const name = template.metadata?.name;
  if (name !== undefined) {
    const why = dns1035LabelProblem(name);
    if (why) ctx.error([...base, 'metadata', 'name'], `${show(name)} ${why}`);
    else if (parentName && !name.startsWith(`${parentName}-`))
      ctx.error([...base, 'metadata', 'name'], `${show(name)} must have prefix ${show(`${parentName}-`)}`);
  }
  checkRevisionSpec(ctx, template.spec, [...base, 'spec']);
}

/** RouteSpec traffic rules; `inService` = targets implicitly refer to the Service's configuration. */
function checkTraffic(ctx: RuleContext, traffic: TrafficTarget[], inService: boolean): void {
  const base = ['spec', 'traffic'];
  const tags = new Map<string, number>();
  let sum = 0;
  traffic.forEach((t, i) => {
    const path = [...base, i];
    sum += t.percent ?? 0;
    if (t.percent !== undefined && (t.percent < 0 || t.percent > 100))
      ctx.error([...path, 'percent'], `expected 0..100, found ${t.percent}`);
    if (t.latestRevision !== undefined && Boolean(t.revisionName) === t.latestRevision)
      ctx.error(
        [...path, 'latestRevision'],
        t.latestRevision
          ? `may not set revisionName ${show(t.revisionName)} when latestRevision is true`
          : 'latestRevision is false but no revisionName is set',
      );
    if (inService && t.configurationName)
      ctx.error(
        [...path, 'configurationName'],
        'not allowed in a Service (its traffic targets its own configuration)',
      );
    else if (t.revisionName && t.configurationName)
      ctx.error([...path], 'expected exactly one of revisionName and configurationName, found both');
    else if (!inService && !t.revisionName && !t.configurationName)
      ctx.error([...path], 'expected one of revisionName and configurationName, found neither');
    for (const field of ['revisionName', 'configurationName'] as const) {
      const v = t[field];
      if (v && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v))
        ctx.error([...path, field], `${show(v)} is not a valid name`);
    }
    if (t.url !== undefined) ctx.error([...path, 'url'], 'not allowed in spec (it is set in status)');
    if (t.tag !== undefined) {
      const why = dns1035LabelProblem(t.tag);
      if (why) ctx.error([...path, 'tag'], `${show(t.tag)} ${why}`);
      const first = tags.get(t.tag);
      if (first !== undefined)
        ctx.error([...path, 'tag'], `duplicate tag ${show(t.tag)} (also traffic[${first}].tag)`);
      else tags.set(t.tag, i);
    }
  });
  if (sum !== 100) ctx.error(base, `traffic percents sum to ${sum}, expected 100`);
}

export function checkService(ctx: RuleContext, s: Service): void {
  checkMetadata(ctx, s.metadata, { dns1035: true });
  checkNoAutoscalingOnParent(ctx, s.metadata);
  checkTemplate(ctx, s.spec.template, s.metadata.name);
  checkTraffic(ctx, s.spec.traffic ?? [], true);
}

export function checkConfiguration(ctx: RuleContext, c: Configuration): void {
  checkMetadata(ctx, c.metadata, { dns1035: true });
  checkNoAutoscalingOnParent(ctx, c.metadata);
  checkTemplate(ctx, c.spec.template, c.metadata.name);
}

export function checkRevision(ctx: RuleContext, r: Revision): void {
  checkMetadata(ctx, r.metadata, { dns1035: true });
  checkAutoscalingAnnotations(ctx, r.metadata.annotations ?? {}, ['metadata', 'annotations']);
  checkRevisionSpec(ctx, r.spec, ['spec']);
}

export function checkRoute(ctx: RuleContext, r: Route): void {
  checkMetadata(ctx, r.metadata, { dns1035: true });
  checkNoAutoscalingOnParent(ctx, r.metadata);
  checkTraffic(ctx, r.spec.traffic ?? [], false);
}
