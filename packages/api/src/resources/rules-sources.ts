import { checkSchedule } from './cron.js';
import { parseApiVersion } from './names.js';
import { type RuleContext, show } from './rule-context.js';
import {
  checkBootstrapServers,
  checkDelivery,
  checkFilters,
  checkMetadata,
  checkSourceSpec,
} from './rules-common.js';
import type { Container } from './schemas/common.js';
import type {
  ApiServerSource,
  ContainerSource,
  GitHubSource,
  KafkaSource,
  PingSource,
  PubSubSource,
  SinkBinding,
  SqsSource,
} from './schemas/sources.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

export function checkPingSource(ctx: RuleContext, p: PingSource): void {
  checkMetadata(ctx, p.metadata);
  const s = p.spec;
  for (const problem of checkSchedule(s.schedule ?? '', s.timezone))
    ctx.error(['spec', problem.field], problem.message);
  const json = s.contentType === 'application/json';
  if (s.data && s.dataBase64)
    ctx.error(['spec', 'dataBase64'], 'expected only one of "data" and "dataBase64", found both');
  else if (s.dataBase64) {
    if (!BASE64.test(s.dataBase64))
      ctx.error(['spec', 'dataBase64'], 'expected standard base64 (RFC 4648 with padding)');
    else if (json && !isJsonObject(Buffer.from(s.dataBase64, 'base64').toString('utf8')))
      ctx.error(
        ['spec', 'dataBase64'],
        'contentType is application/json but the decoded data is not a JSON object',
      );
  } else if (s.data && json && !isJsonObject(s.data))
    ctx.error(
      ['spec', 'data'],
      `contentType is application/json but data is not a JSON object: ${show(s.data)}`,
    );
  checkSourceSpec(ctx, s);
}

/** Knative requires an image; Eddy's embedded mode can also run a local `command`. */
export function checkRunnable(ctx: RuleContext, c: Container, path: (string | number)[]): void {
  if (!c.image && !(c.command && c.command.length > 0))
    ctx.error(
      [...path, 'image'],
      'required field is missing: a container needs an image (Kubernetes mode) or a command (embedded mode)',
      path,
    );
}

export function checkContainerSource(ctx: RuleContext, c: ContainerSource): void {
  checkMetadata(ctx, c.metadata);
  const containers = c.spec.template.spec.containers ?? [];
  if (containers.length === 0)
    ctx.error(['spec', 'template', 'spec', 'containers'], 'expected at least one container, found none');
  containers.forEach((container, i) => {
    checkRunnable(ctx, container, ['spec', 'template', 'spec', 'containers', i]);
  });
  checkSourceSpec(ctx, c.spec);
}

export function checkSinkBinding(ctx: RuleContext, b: SinkBinding): void {
  checkMetadata(ctx, b.metadata);
  const subject = b.spec.subject;
  if (!parseApiVersion(subject.apiVersion))
    ctx.error(
      ['spec', 'subject', 'apiVersion'],
      `expected "group/version" or "version", found ${show(subject.apiVersion)}`,
    );
  if (subject.name && subject.selector)
    ctx.error(['spec', 'subject'], 'expected exactly one of "name" and "selector", found both');
  else if (!subject.name && !subject.selector)
    ctx.error(['spec', 'subject'], 'expected one of "name" and "selector", found neither');
  if (subject.namespace && subject.namespace !== ctx.namespace)
    ctx.error(
      ['spec', 'subject', 'namespace'],
      `the subject must be in the SinkBinding's namespace ${show(ctx.namespace)}, found ${show(subject.namespace)}`,
    );
  checkSourceSpec(ctx, b.spec);
}

export function checkApiServerSource(ctx: RuleContext, a: ApiServerSource): void {
  checkMetadata(ctx, a.metadata);
  const s = a.spec;
  if (s.mode !== 'Reference' && s.mode !== 'Resource')
    ctx.error(['spec', 'mode'], `expected "Reference" or "Resource", found ${show(s.mode)}`);
  if (!s.resources || s.resources.length === 0)
    ctx.error(['spec', 'resources'], 'expected at least one resource to watch, found none');
  s.resources?.forEach((r, i) => {
    if (!parseApiVersion(r.apiVersion))
      ctx.error(
        ['spec', 'resources', i, 'apiVersion'],
        `expected "group/version" or "version", found ${show(r.apiVersion)}`,
      );
    if (r.kind.trim() === '') ctx.error(['spec', 'resources', i, 'kind'], 'must not be empty');
  });
  if (s.owner && !parseApiVersion(s.owner.apiVersion))
    ctx.error(
      ['spec', 'owner', 'apiVersion'],
      `expected "group/version" or "version", found ${show(s.owner.apiVersion)}`,
    );
  checkFilters(ctx, s.filters, ['spec', 'filters']);
  checkSourceSpec(ctx, s);
}

export function checkKafkaSource(ctx: RuleContext, k: KafkaSource): void {
  checkMetadata(ctx, k.metadata);
  if (k.spec.topics.length === 0) ctx.error(['spec', 'topics'], 'expected at least one topic, found none');
  checkBootstrapServers(ctx, k.spec.bootstrapServers, ['spec', 'bootstrapServers']);
  checkDelivery(ctx, k.spec.delivery, ['spec', 'delivery']);
  checkSourceSpec(ctx, k.spec);
}

export function checkGitHubSource(ctx: RuleContext, g: GitHubSource): void {
  checkMetadata(ctx, g.metadata);
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9._-]+)?$/.test(g.spec.ownerAndRepository))
    ctx.error(
      ['spec', 'ownerAndRepository'],
      `expected "owner/repository" or "owner", found ${show(g.spec.ownerAndRepository)}`,
    );
  if (!g.spec.accessToken.secretKeyRef)
    ctx.error(['spec', 'accessToken', 'secretKeyRef'], 'required field is missing', ['spec', 'accessToken']);
  if (!g.spec.secretToken.secretKeyRef)
    ctx.error(['spec', 'secretToken', 'secretKeyRef'], 'required field is missing', ['spec', 'secretToken']);
  if (g.spec.githubAPIURL !== undefined && !isHttpUrl(g.spec.githubAPIURL))
    ctx.error(
      ['spec', 'githubAPIURL'],
      `expected an absolute http(s) URL, found ${show(g.spec.githubAPIURL)}`,
    );
  checkSourceSpec(ctx, g.spec);
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

export function checkSqsSource(ctx: RuleContext, s: SqsSource): void {
  checkMetadata(ctx, s.metadata);
  if (!isHttpUrl(s.spec.queueUrl))
    ctx.error(['spec', 'queueUrl'], `expected an absolute http(s) queue URL, found ${show(s.spec.queueUrl)}`);
  if (s.spec.endpoint !== undefined && !isHttpUrl(s.spec.endpoint))
    ctx.error(['spec', 'endpoint'], `expected an absolute http(s) URL, found ${show(s.spec.endpoint)}`);
  if (!s.spec.region && !s.spec.endpoint)
    ctx.error(
      ['spec', 'region'],
      'required field is missing: the queue URL is not an AWS one (sqs.<region>.amazonaws.com), so set region (or endpoint)',
      ['spec'],
    );
  checkSourceSpec(ctx, s.spec);
}

const PUBSUB_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export function checkPubSubSource(ctx: RuleContext, p: PubSubSource): void {
  checkMetadata(ctx, p.metadata);
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(p.spec.project))
    ctx.error(
      ['spec', 'project'],
      `expected a Google Cloud project id (6-30 lowercase letters, digits, "-"), found ${show(p.spec.project)}`,
    );
  for (const field of ['subscription', 'topic'] as const) {
    const v = p.spec[field];
    if (v !== undefined && (!PUBSUB_ID.test(v) || v.startsWith('goog')))
      ctx.error(
        ['spec', field],
        `expected a Pub/Sub ${field} id (3-255 chars, starting with a letter, not "goog"), found ${show(v)}`,
      );
  }
  if (p.spec.endpoint !== undefined && !/^[^\s/:]+:\d{1,5}$/.test(p.spec.endpoint))
    ctx.error(['spec', 'endpoint'], `expected host:port, found ${show(p.spec.endpoint)}`);
  checkSourceSpec(ctx, p.spec);
}
