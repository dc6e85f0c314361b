// `eddy describe` as `kubectl describe` reads: aligned "Field:  value" lines, the spec and the rest of
// the status as indented YAML, then tables of conditions, events and autoscaler decisions.

import { stringify } from 'yaml';
import type { DescribeResponse, OldestEvent } from '../admin/protocol.js';
import { age } from './age.js';
import { binaryDataLines, secretDataLines } from './data-keys.js';
import { replayStatusLines } from './describe-replay.js';
import { renderTable } from './table.js';

const indent = (lines: readonly string[], by = '  ') => lines.map((l) => (l === '' ? l : `${by}${l}`));

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(14)}${value}`;
}

function pairs(map: Record<string, string> | undefined): string[] {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return ['<none>'];
  return entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
}

/** First line at the label, the rest aligned under it (kubectl's Labels: / Annotations:). */
function multi(label: string, values: readonly string[]): string[] {
  return values.map((v, i) => (i === 0 ? field(label, v) : `${' '.repeat(14)}${v}`));
}

function yamlBlock(value: unknown): string[] {
  if (value === undefined || value === null) return ['<none>'];
  if (typeof value === 'object' && Object.keys(value as object).length === 0) return ['<none>'];
  return stringify(value, { lineWidth: 0 }).trimEnd().split('\n');
}

// A flow's per-child statuses are the Children table.
const STATUS_SHOWN_ELSEWHERE = new Set([
  'conditions',
  'observedGeneration',
  'address',
  'policies',
  'url',
  'channelStatuses',
  'subscriptionStatuses',
  'ingressChannelStatus',
  'branchStatuses',
]);

/**
 * A Secret's type and its keys with their sizes (kubectl's `describe secret`; the values are redacted by
 * the server anyway), a ConfigMap's data and binaryData sizes; undefined for other kinds.
 */
function coreDataLines(r: DescribeResponse['resource']): string[] | undefined {
  if (r.apiVersion !== 'v1') return undefined;
  if (r.kind === 'Secret')
    return [
      field('Type', typeof r.type === 'string' ? r.type : 'Opaque'),
      'Data:',
      ...indent(secretDataLines(r)),
    ];
  if (r.kind === 'ConfigMap')
    return ['Data:', ...indent(yamlBlock(r.data)), 'BinaryData:', ...indent(binaryDataLines(r))];
  return undefined;
}

function oldestEventText(oldest: OldestEvent, now: number): string {
  if ('error' in oldest) return `unknown (${oldest.error})`;
  if (oldest.time === null) return 'none (empty)';
  return `${oldest.time} (${age(oldest.time, now)} ago)`;
}

export function renderDescribe(d: DescribeResponse, now: number): string[] {
  const r = d.resource;
  const m = r.metadata;
  const out: string[] = [];
  out.push(field('Name', m.name));
  out.push(field('Namespace', m.namespace));
  out.push(field('Kind', `${r.kind} (${r.apiVersion})`));
  out.push(...multi('Labels', pairs(m.labels)));
  out.push(...multi('Annotations', pairs(m.annotations)));
  out.push(field('Created', `${m.creationTimestamp} (${age(m.creationTimestamp, now)} ago)`));
  const observed = r.status?.observedGeneration;
  const generation =
    observed === undefined
      ? String(m.generation)
      : `${m.generation} (observed ${observed}${observed === m.generation ? '' : ', not reconciled yet'})`;
  out.push(field('Generation', generation));
  if (m.ownerReferences && m.ownerReferences.length > 0) {
    out.push(
      ...multi(
        'Owned by',
        m.ownerReferences.map((o) => `${o.kind}/${o.name}`),
      ),
    );
  }
  const status = r.status ?? {};
  if (status.address?.url !== undefined) out.push(field('Address', status.address.url));
  if (status.address?.audience !== undefined) out.push(field('Audience', status.address.audience));
  // The EventPolicies a Broker, channel or KafkaSink enforces (Knative's status.policies).
  const policies = (status.policies as { name: string }[] | undefined) ?? [];
  if (policies.length > 0)
    out.push(
      ...multi(
        'Policies',
        policies.map((p) => p.name),
      ),
    );
  if (status.url !== undefined) out.push(field('URL', status.url));

  if (d.oldestEvent !== undefined) out.push(field('Oldest event', oldestEventText(d.oldestEvent, now)));

  const core = coreDataLines(r);
  if (core) out.push(...core);
  else {
    out.push('Spec:');
    out.push(...indent(yamlBlock(r.spec)));
    if (r.kind === 'Replay') out.push(...replayStatusLines(r, now));
    else {
      const rest = Object.fromEntries(Object.entries(status).filter(([k]) => !STATUS_SHOWN_ELSEWHERE.has(k)));
      out.push('Status:');
      out.push(...indent(yamlBlock(rest)));
    }
  }

  const conditions = status.conditions ?? [];
  if (core) {
    // Secrets and ConfigMaps have no conditions.
  } else if (conditions.length === 0) {
    out.push(field('Conditions', '<none>'));
  } else {
    out.push('Conditions:');
    out.push(
      ...indent(
        renderTable(
          ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
          conditions.map((c) => [
            c.type,
            c.status,
            c.reason ?? '',
            c.lastTransitionTime ? age(c.lastTransitionTime, now) : '',
            c.message ?? '',
          ]),
        ),
      ),
    );
  }

  if (d.children !== undefined && d.children.length > 0) {
    out.push('Children:');
    out.push(
      ...indent(
        renderTable(
          ['KIND', 'NAME', 'READY', 'REASON', 'MESSAGE'],
          d.children.map((c) => [c.kind, c.name, c.ready, c.reason ?? '', c.message ?? '']),
        ),
      ),
    );
  }

  if (d.decisions !== undefined) {
    if (d.decisions.length === 0) {
      out.push(field('Autoscaler', '<no decisions yet>'));
    } else {
      out.push('Autoscaler decisions:');
      out.push(
        ...indent(
          renderTable(
            ['AGE', 'REVISION', 'DESIRED', 'REASON', 'DETAIL'],
            d.decisions.map((x) => [age(x.at, now), x.revision, String(x.desired), x.reason, x.detail]),
          ),
        ),
      );
    }
  }

  if (d.events.length === 0) {
    out.push(field('Events', '<none>'));
  } else {
    out.push('Events:');
    out.push(
      ...indent(
        renderTable(
          ['TYPE', 'REASON', 'AGE', 'MESSAGE'],
          d.events.map((e) => [e.type, e.reason, age(e.time, now), e.message]),
        ),
      ),
    );
  }
  return out;
}
