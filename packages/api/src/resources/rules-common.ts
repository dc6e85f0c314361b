import { validateCesql } from './cesql.js';
import { parseIsoDuration } from './durations.js';
import type { FieldPath } from './field-path.js';
import {
  dns1035LabelProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  parseApiVersion,
} from './names.js';
import { type RuleContext, show } from './rule-context.js';
import type { DeliverySpec, Destination, ObjectMeta, SubscriptionsAPIFilter } from './schemas/common.js';

/**
 * metadata.name is required (files have no server to generate one) and must be a DNS label (a DNS
 * subdomain for the kinds whose generated names can be longer, `subdomain`).
 */
export function checkMetadata(
  ctx: RuleContext,
  meta: ObjectMeta,
  opts: { dns1035?: boolean; subdomain?: boolean } = {},
): void {
  if (!meta.name) {
    ctx.error(
      ['metadata', 'name'],
      'required field is missing (expected a DNS-1123 label such as "my-broker")',
    );
  } else {
    const why = opts.subdomain
      ? dns1123SubdomainProblem(meta.name)
      : opts.dns1035
        ? dns1035LabelProblem(meta.name)
        : dns1123LabelProblem(meta.name);
    if (why) ctx.error(['metadata', 'name'], `${show(meta.name)} ${why}`);
  }
  if (meta.namespace !== undefined) {
    const why = dns1123LabelProblem(meta.namespace);
    if (why) ctx.error(['metadata', 'namespace'], `${show(meta.namespace)} ${why}`);
  }
}

function isAbsoluteUrl(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.host !== '';
  } catch {
    return false;
  }
}

/** duckv1.Destination rules: a ref or a uri; an absolute uri alone, or a relative one with a ref. */
export function checkDestination(ctx: RuleContext, dest: Destination | undefined, path: FieldPath): void {
  if (!dest || (dest.ref === undefined && dest.uri === undefined)) {
    ctx.error(path, 'expected a destination with "ref" or "uri", found neither');
    return;
  }
  if (dest.uri !== undefined) {
    const absolute = isAbsoluteUrl(dest.uri);
    if (dest.ref && absolute)
      ctx.error(
        [...path, 'uri'],
        `absolute URI ${show(dest.uri)} is not allowed together with "ref" (with a ref, uri is a path relative to it)`,
      );
    if (!dest.ref && !absolute)
      ctx.error(
        [...path, 'uri'],
        `expected an absolute URI (scheme and host) when "ref" is absent, found ${show(dest.uri)}`,
      );
  }
  if (dest.ref) {
    if (!parseApiVersion(dest.ref.apiVersion))
      ctx.error(
        [...path, 'ref', 'apiVersion'],
        `expected "group/version" or "version", found ${show(dest.ref.apiVersion)}`,
      );
    if (dest.ref.name === '') ctx.error([...path, 'ref', 'name'], 'must not be empty');
    if (dest.ref.kind === '') ctx.error([...path, 'ref', 'kind'], 'must not be empty');
  }
  if (dest.CACerts !== undefined && !dest.CACerts.includes('-----BEGIN CERTIFICATE-----'))
    ctx.error([...path, 'CACerts'], 'expected PEM-encoded certificates ("-----BEGIN CERTIFICATE-----")');
}

function checkIsoDuration(
  ctx: RuleContext,
  value: string | undefined,
  path: FieldPath,
  opts: { nonZero?: boolean; nonNegative?: boolean },
): void {
  if (value === undefined) return;
  const d = parseIsoDuration(value);
  if (!d) {
    ctx.error(
      path,
      `expected an ISO-8601 duration such as "PT0.5S", "PT10S" or "PT1M", found ${show(value)}`,
    );
    return;
  }
  if (opts.nonZero && d.ms === 0)
    ctx.error(path, `expected a duration greater than zero, found ${show(value)}`);
  if (opts.nonNegative && d.negative)
    ctx.error(path, `expected a non-negative duration, found ${show(value)}`);
}

/** eventing duckv1.DeliverySpec rules (DeliverySpec.Validate). */
export function checkDelivery(ctx: RuleContext, delivery: DeliverySpec | undefined, path: FieldPath): void {
  if (!delivery) return;
  if (delivery.deadLetterSink) checkDestination(ctx, delivery.deadLetterSink, [...path, 'deadLetterSink']);
  checkIsoDuration(ctx, delivery.backoffDelay, [...path, 'backoffDelay'], { nonNegative: true });
  checkIsoDuration(ctx, delivery.timeout, [...path, 'timeout'], { nonZero: true, nonNegative: true });
  checkIsoDuration(ctx, delivery.retryAfterMax, [...path, 'retryAfterMax'], { nonNegative: true });
}

const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

/** CloudEvents attribute names as Knative accepts them in filters: a lowercase letter, then [a-z0-9]. */
export function checkAttributeNames(
  ctx: RuleContext,
  attrs: Record<string, string> | undefined,
  path: FieldPath,
): void {
  for (const name of Object.keys(attrs ?? {})) {
    if (!ATTRIBUTE_NAME.test(name))
      ctx.errorAtKey(
        [...path, name],
        `invalid attribute name ${show(name)}: must start with a lowercase letter and contain only lowercase letters and digits`,
      );
  }
}

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

function dialectsOf(f: SubscriptionsAPIFilter): string[] {
  const found: string[] = [];
  if (f.exact && Object.keys(f.exact).length > 0) found.push('exact');
  if (f.prefix && Object.keys(f.prefix).length > 0) found.push('prefix');
  if (f.suffix && Object.keys(f.suffix).length > 0) found.push('suffix');
  if (f.all && f.all.length > 0) found.push('all');
  if (f.any && f.any.length > 0) found.push('any');
  if (f.not) found.push('not');
  if (f.cesql) found.push('cesql');
  return found;
}

/** Subscriptions API filter rules (ValidateSubscriptionAPIFilter), recursively. */
export function checkFilter(ctx: RuleContext, f: SubscriptionsAPIFilter, path: FieldPath): void {
  const dialects = dialectsOf(f);
  if (dialects.length > 1)
    ctx.error(
      path,
      `multiple dialects found (${dialects.join(', ')}); a filters entry must set exactly one of ${DIALECTS.join(', ')} (list several entries to AND them)`,
    );
  checkAttributeNames(ctx, f.exact, [...path, 'exact']);
  checkAttributeNames(ctx, f.prefix, [...path, 'prefix']);
  checkAttributeNames(ctx, f.suffix, [...path, 'suffix']);
  f.all?.forEach((sub, i) => {
    checkFilter(ctx, sub, [...path, 'all', i]);
  });
  f.any?.forEach((sub, i) => {
    checkFilter(ctx, sub, [...path, 'any', i]);
  });
  if (f.not) checkFilter(ctx, f.not, [...path, 'not']);
  if (f.cesql) {
    const { error, warnings } = validateCesql(f.cesql);
    if (error) ctx.error([...path, 'cesql'], `invalid CESQL expression ${show(f.cesql)}: ${error}`);
    for (const w of warnings) ctx.warn([...path, 'cesql'], `CESQL expression ${show(f.cesql)}: ${w}`);
  }
}

export function checkFilters(
  ctx: RuleContext,
  filters: SubscriptionsAPIFilter[] | undefined,
  path: FieldPath,
): void {
  filters?.forEach((f, i) => {
    checkFilter(ctx, f, [...path, i]);
  });
}

/** duckv1.SourceSpec: the sink and CloudEvent extension overrides (alphanumeric names). */
export function checkSourceSpec(
  ctx: RuleContext,
  spec: { sink?: Destination; ceOverrides?: { extensions?: Record<string, string> } },
): void {
  checkDestination(ctx, spec.sink, ['spec', 'sink']);
  for (const key of Object.keys(spec.ceOverrides?.extensions ?? {})) {
    if (!/^[A-Za-z0-9]+$/.test(key))
      ctx.errorAtKey(
        ['spec', 'ceOverrides', 'extensions', key],
        `invalid extension name ${show(key)}: CloudEvents extension names are alphanumeric`,
      );
  }
}

/** Kafka bootstrap servers: at least one, each `host:port` (a comma-separated list in one entry too, as Knative accepts). */
export function checkBootstrapServers(ctx: RuleContext, servers: readonly string[], path: FieldPath): void {
  if (servers.length === 0) ctx.error(path, 'expected at least one bootstrap server (host:port), found none');
  servers.forEach((server, i) => {
    for (const part of server.split(',')) {
      if (!/^[^\s:]+:\d{1,5}$/.test(part.trim()))
        ctx.error([...path, i], `expected host:port, found ${show(server)}`);
    }
  });
}
