import {
  AUTOSCALING_ANNOTATIONS,
  autoscalingAnnotation,
  EDDY_AUTOSCALING_PREFIX,
  KNATIVE_AUTOSCALING_PREFIX,
  kpaMetricProblem,
  scaleBoundsProblem,
} from './autoscaling-annotations.js';
import { CONTAINER_CONCURRENCY_MAX, MAX_REVISION_TIMEOUT_SECONDS } from './defaults.js';
import type { FieldPath } from './field-path.js';
import { dns1035LabelProblem } from './names.js';
import { PROGRESS_DEADLINE_ANNOTATION, parseProgressDeadline } from './progress-deadline.js';
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

const AUTOSCALING = KNATIVE_AUTOSCALING_PREFIX;
/** Eddy's own autoscaling annotations (the backlog signal); also only effective on the revision template. */
const EDDY_AUTOSCALING = EDDY_AUTOSCALING_PREFIX;
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

const EDDY_ANNOTATIONS = Object.values(AUTOSCALING_ANNOTATIONS)
  .map((a) => a.key)
  .filter((k) => k.startsWith(EDDY_AUTOSCALING));

function checkAutoscalingAnnotations(
  ctx: RuleContext,
  annotations: Record<string, string>,
  base: FieldPath,
): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(AUTOSCALING)) continue;
    const r = autoscalingAnnotation(key)?.parse(value);
    if (r && !r.ok) ctx.error([...base, key], r.message);
  }
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(EDDY_AUTOSCALING)) continue;
    const annotation = autoscalingAnnotation(key);
    if (!annotation)
      ctx.warn(
        [...base, key],
        `unknown Eddy autoscaling annotation (known: ${EDDY_ANNOTATIONS.join(', ')}); it is ignored`,
      );
    const r = annotation?.parse(value);
    if (r && !r.ok) ctx.error([...base, key], r.message);
  }
  // The raw numbers, as before the table: a bound that is also malformed may still contradict the other.
  const raw = (a: { key: string; legacyKey?: string }) =>
    Number(annotations[a.key] ?? (a.legacyKey === undefined ? undefined : annotations[a.legacyKey]) ?? 0);
  const bounds = scaleBoundsProblem(
    raw(AUTOSCALING_ANNOTATIONS.minScale),
    raw(AUTOSCALING_ANNOTATIONS.maxScale),
  );
  if (bounds) ctx.error([...base, AUTOSCALING_ANNOTATIONS.maxScale.key], bounds, base);
  const cls = annotations[AUTOSCALING_ANNOTATIONS.class.key] ?? AUTOSCALING_ANNOTATIONS.class.default;
  const metric = annotations[AUTOSCALING_ANNOTATIONS.metric.key];
  const metricProblem = metric ? kpaMetricProblem(metric) : undefined;
  if (cls === 'kpa.autoscaling.knative.dev' && metricProblem)
    ctx.error([...base, AUTOSCALING_ANNOTATIONS.metric.key], metricProblem);
  if (cls === 'hpa.autoscaling.knative.dev')
    ctx.warn(
      [...base, AUTOSCALING_ANNOTATIONS.class.key],
      'Eddy has no HPA; the KPA-style autoscaler is used instead',
    );
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

function checkProgressDeadline(
  ctx: RuleContext,
  annotations: Record<string, string> | undefined,
  base: FieldPath,
): void {
  const value = annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  if (value === undefined) return;
  const result = parseProgressDeadline(value);
  if (!result.ok) ctx.error([...base, PROGRESS_DEADLINE_ANNOTATION], result.message);
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
  checkProgressDeadline(ctx, template.metadata?.annotations, [...base, 'metadata', 'annotations']);
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
  checkProgressDeadline(ctx, r.metadata.annotations, ['metadata', 'annotations']);
  checkRevisionSpec(ctx, r.spec, ['spec']);
}

export function checkRoute(ctx: RuleContext, r: Route): void {
  checkMetadata(ctx, r.metadata, { dns1035: true });
  checkNoAutoscalingOnParent(ctx, r.metadata);
  checkTraffic(ctx, r.spec.traffic ?? [], false);
}
