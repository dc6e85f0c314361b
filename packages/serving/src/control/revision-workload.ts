// How one Revision runs in embedded mode: its container's command, env (literal values, and
// `valueFrom.secretKeyRef` / `configMapKeyRef` resolved as sources resolve them: EDDY_SECRET_* variables,
// then Secret and ConfigMap manifests), readiness probe with Kubernetes' defaults, timeouts and scaling
// settings, or the reason it cannot run here (no command, envFrom, a missing Secret key, several
// containers, an exec probe, invalid autoscaling annotations).

import {
  asKeyRef,
  type Container,
  DEFAULT_PROGRESS_DEADLINE_MS,
  DEFAULT_REVISION_TIMEOUT_SECONDS,
  type KeyRef,
  PROGRESS_DEADLINE_ANNOTATION,
  parseProgressDeadline,
  type ResolvedProbe,
  type RevisionSpec,
  resolveKeyRef,
  type ServingRevision,
  type ValueLookupOptions,
} from '@eddy/api';
import { parseScalingSettings, type ScalingPlatform } from './scaling-settings.js';

/**
 * Where revisions run: `process` = local processes (embedded mode: a command is needed, env values
 * are resolved here); `kubernetes` = Deployments (the pod spec goes to Kubernetes as written, which
 * pulls the image and resolves Secrets itself).
 */
export type WorkloadTarget = 'process' | 'kubernetes';

/** Revision spec fields that are Knative's, not the pod's. */
const KNATIVE_SPEC_FIELDS = new Set([
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
]);

/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

/** Kubernetes probe defaults. */
const PROBE_DEFAULTS = { periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 };

export type Workload = Omit<
  ServingRevision,
  'namespace' | 'name' | 'configuration' | 'service' | 'configurationGeneration' | 'routed' | 'backlog'
>;

export type WorkloadResult =
  | { ok: true; workload: Workload }
  | {
      ok: false;
      /** CamelCase condition reason, e.g. `CommandRequired`. */
      reason: string;
      /** Names the field and says what to do. */
      message: string;
    };

type Port = NonNullable<Container['ports']>[number];

interface ProbeShape {
  httpGet?: { path?: string; port?: number | string; httpHeaders?: unknown };
  tcpSocket?: { port?: number | string };
  exec?: unknown;
  grpc?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

const show = (v: unknown) => JSON.stringify(v);
const positiveOr = (v: number | undefined, fallback: number) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;

type Problem = { reason: string; message: string };

/**
 * A probe port that names or equals the container port is the replica's $PORT (the runtime picks the
 * real port); another number is probed as given; an unknown name is an error.
 */
function probePort(
  port: number | string | undefined,
  containerPort: Port | undefined,
  field: string,
): { port?: number } | Problem {
  if (port === undefined || port === 0 || port === '') return {};
  if (typeof port === 'number') return port === containerPort?.containerPort ? {} : { port };
  if (/^\d+$/.test(port)) return probePort(Number(port), containerPort, field);
  if (port === containerPort?.name) return {};
  return {
    reason: 'InvalidProbe',
    message: `${field}.port ${show(port)} is not the name of the container's port${
      containerPort?.name ? ` (${show(containerPort.name)})` : ''
    }`,
  };
}

function httpHeaders(raw: unknown): Record<string, string> | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const h of raw as { name?: unknown; value?: unknown }[])
    if (typeof h?.name === 'string') out[h.name] = typeof h.value === 'string' ? h.value : '';
  return out;
}

/** The readiness probe with Kubernetes' defaults; no probe (or one without a handler) = TCP on the port, as Knative does. */
export function resolveReadinessProbe(
  probe: ProbeShape | undefined,
  containerPort: Port | undefined,
  path = 'spec.containers[0].readinessProbe',
): { ok: true; probe: ResolvedProbe } | ({ ok: false } & Problem) {
  const p = probe ?? {};
  const timing = {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: positiveOr(p.periodSeconds, PROBE_DEFAULTS.periodSeconds) * 1000,
    timeoutMs: positiveOr(p.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds) * 1000,
    failureThreshold: positiveOr(p.failureThreshold, PROBE_DEFAULTS.failureThreshold),
    successThreshold: positiveOr(p.successThreshold, PROBE_DEFAULTS.successThreshold),
  };
  for (const handler of ['exec', 'grpc'] as const)
    if (p[handler] !== undefined)
      return {
        ok: false,
        reason: 'UnsupportedProbe',
        message: `${path}.${handler} is not supported in embedded mode; use httpGet or tcpSocket`,
      };
  if (p.httpGet) {
    const port = probePort(p.httpGet.port, containerPort, `${path}.httpGet`);
    if ('reason' in port) return { ok: false, ...port };
    const headers = httpHeaders(p.httpGet.httpHeaders);
    return {
      ok: true,
      probe: {
        kind: 'http',
        path: p.httpGet.path || '/',
        ...(headers ? { headers } : {}),
        ...port,
        ...timing,
      },
    };
  }
  const port = probePort(p.tcpSocket?.port, containerPort, `${path}.tcpSocket`);
  if ('reason' in port) return { ok: false, ...port };
  return { ok: true, probe: { kind: 'tcp', ...port, ...timing } };
}

/** A `valueFrom` that selects a Secret or ConfigMap key, or undefined (fieldRef, resourceFieldRef, ...). */
function valueFromRef(valueFrom: unknown): KeyRef | undefined {
  if (!valueFrom || typeof valueFrom !== 'object') return undefined;
  const v = valueFrom as Record<string, unknown>;
  if (Object.keys(v).length !== 1) return undefined;
  return asKeyRef('Secret', v.secretKeyRef) ?? asKeyRef('ConfigMap', v.configMapKeyRef);
}

/** The container env: literal values, and valueFrom resolved in `namespace`. */
function containerEnv(
  vars: NonNullable<Container['env']>,
  where: { namespace: string; values?: ValueLookupOptions },
): { ok: true; env: Record<string, string> } | Problem {
  const env: Record<string, string> = {};
  for (const [j, e] of vars.entries()) {
    if (e.valueFrom === undefined) {
      env[e.name] = e.value ?? '';
      continue;
    }
    const field = `spec.containers[0].env[${j}] (${show(e.name)})`;
    const ref = valueFromRef(e.valueFrom);
    if (!ref)
      return {
        reason: 'UnsupportedEnvValueFrom',
        message: `${field}: valueFrom supports secretKeyRef and configMapKeyRef (with name and key) in embedded mode, not field or resource references; give it a literal value`,
      };
    const r = resolveKeyRef(ref, where.namespace, where.values ?? {});
    if (!r.ok) return { reason: 'CreateContainerConfigError', message: `${field}: ${r.message}` };
    if (r.value !== undefined) env[e.name] = r.value;
  }
  return { ok: true, env };
}

/**
 * What a revision runs, or why it cannot run in embedded mode. `env` says where the revision's namespace
 * is and where env `valueFrom` values come from.
 */
export function revisionWorkload(
  spec: RevisionSpec | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
  platform: ScalingPlatform,
  env: { namespace: string; values?: ValueLookupOptions; target?: WorkloadTarget } = {
    namespace: 'default',
  },
): WorkloadResult {
  const containers = spec?.containers ?? [];
  const [c] = containers;
  if (!c)
    return {
      ok: false,
      reason: 'ContainerMissing',
      message: 'spec.containers: expected one container, found none',
    };
  if (env.target === 'kubernetes') return kubernetesWorkload(spec ?? {}, c, annotations, platform);
  if (containers.length > 1)
    return {
      ok: false,
      reason: 'MultipleContainersUnsupported',
      message: `spec.containers: ${containers.length} containers; embedded mode runs one process per replica, so sidecars need Kubernetes mode`,
    };
  const [program, ...rest] = c.command ?? [];
  if (!program)
    return {
      ok: false,
      reason: 'CommandRequired',
      message: `spec.containers[0].command is required in embedded mode; image-only services${
        c.image ? ` (image ${show(c.image)})` : ''
      } need Kubernetes mode`,
    };
  if (c.envFrom && c.envFrom.length > 0)
    return {
      ok: false,
      reason: 'UnsupportedEnvFrom',
      message:
        'spec.containers[0].envFrom (whole Secrets, ConfigMaps) is not supported in embedded mode; list the keys under env with valueFrom.secretKeyRef / configMapKeyRef instead',
    };
  const resolvedEnv = containerEnv(c.env ?? [], env);
  if (!('ok' in resolvedEnv)) return { ok: false, ...resolvedEnv };
  const readiness = resolveReadinessProbe(c.readinessProbe as ProbeShape | undefined, c.ports?.[0]);
  if (!readiness.ok) return readiness;

  const common = commonSettings(spec, annotations, platform);
  if (!common.ok) return common;
  return {
    ok: true,
    workload: {
      // The command's first element is the program; Kubernetes appends args after the rest of command.
      command: [program, ...rest],
      args: [...(c.args ?? [])],
      env: resolvedEnv.env,
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      readiness: readiness.probe,
      ...common.settings,
    },
  };
}

type CommonSettings = Pick<
  Workload,
  | 'containerConcurrency'
  | 'timeoutMs'
  | 'responseStartTimeoutMs'
  | 'idleTimeoutMs'
  | 'terminationGraceMs'
  | 'progressDeadlineMs'
  | 'scaling'
>;

/** What the router and the autoscaler take from a revision wherever it runs. */
function commonSettings(
  spec: RevisionSpec | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
  platform: ScalingPlatform,
): { ok: true; settings: CommonSettings } | ({ ok: false } & Problem) {
  const containerConcurrency = Math.max(0, spec?.containerConcurrency ?? 0);
  const scaling = parseScalingSettings(annotations, containerConcurrency, platform);
  if (scaling.problems.length > 0)
    return {
      ok: false,
      reason: 'InvalidAnnotation',
      message: scaling.problems
        .map((p) => `metadata.annotations[${show(p.annotation)}]: ${p.message}`)
        .join('; '),
    };

  let progressDeadlineMs = platform.progressDeadlineMs ?? DEFAULT_PROGRESS_DEADLINE_MS;
  const deadlineText = annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  if (deadlineText !== undefined) {
    const parsed = parseProgressDeadline(deadlineText);
    if (!parsed.ok)
      return {
        ok: false,
        reason: 'InvalidAnnotation',
        message: `metadata.annotations[${show(PROGRESS_DEADLINE_ANNOTATION)}]: ${parsed.message}`,
      };
    progressDeadlineMs = parsed.value;
  }

  const grace = (spec as { terminationGracePeriodSeconds?: unknown } | undefined)
    ?.terminationGracePeriodSeconds;
  const graceSeconds =
    typeof grace === 'number' && Number.isFinite(grace) && grace >= 0
      ? grace
      : DEFAULT_TERMINATION_GRACE_SECONDS;
  const optionalMs = (v: number | undefined) => (typeof v === 'number' && v > 0 ? v * 1000 : undefined);
  const responseStartTimeoutMs = optionalMs(spec?.responseStartTimeoutSeconds);
  const idleTimeoutMs = optionalMs(spec?.idleTimeoutSeconds);
  return {
    ok: true,
    settings: {
      containerConcurrency,
      timeoutMs: positiveOr(spec?.timeoutSeconds, DEFAULT_REVISION_TIMEOUT_SECONDS) * 1000,
      ...(responseStartTimeoutMs !== undefined ? { responseStartTimeoutMs } : {}),
      ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
      terminationGraceMs: graceSeconds * 1000,
      // Absent when it is the default, so contracts that do not set it stay as they were.
      ...(progressDeadlineMs !== DEFAULT_PROGRESS_DEADLINE_MS ? { progressDeadlineMs } : {}),
      scaling: scaling.settings,
    },
  };
}

/**
 * A revision as a Deployment runs it: the pod spec as written (image, env with valueFrom, envFrom,
 * probes of any kind, volumes, sidecars), for Kubernetes to run; the router and the autoscaler get
 * the same settings as in embedded mode.
 */
function kubernetesWorkload(
  spec: RevisionSpec,
  c: Container,
  annotations: Readonly<Record<string, string>> | undefined,
  platform: ScalingPlatform,
): WorkloadResult {
  if (!c.image)
    return {
      ok: false,
      reason: 'ImageRequired',
      message: 'spec.containers[0].image is required: Kubernetes runs the revision from its image',
    };
  const common = commonSettings(spec, annotations, platform);
  if (!common.ok) return common;
  const port = c.ports?.[0];
  // The router waits on the pod's own readiness (the kubelet probes it), so this is only the shape
  // the contract needs; an exec or grpc probe is Kubernetes' to run.
  const readiness = resolveReadinessProbe(undefined, port);
  if (!readiness.ok) return readiness;
  const podSpec: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(spec))
    if (!KNATIVE_SPEC_FIELDS.has(field)) podSpec[field] = value;
  const literalEnv: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.valueFrom === undefined) literalEnv[e.name] = e.value ?? '';
  return {
    ok: true,
    workload: {
      command: [...(c.command ?? [])],
      args: [...(c.args ?? [])],
      env: literalEnv,
      readiness: readiness.probe,
      podSpec,
      ...common.settings,
    },
  };
}
