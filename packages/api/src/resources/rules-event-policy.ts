// eventing.knative.dev/v1alpha1 EventPolicy rules, as Knative's EventPolicySpec.Validate: each `from`
// names exactly one of ref and sub, a sub's `*` only as its last character, each `to` exactly one of
// ref and selector, refs complete, filters valid Subscriptions API filters. Knative also refuses an
// EventPolicy while OIDC authentication is off; Eddy accepts it and reports that in its status.

import type { FieldPath } from './field-path.js';
import { parseApiVersion } from './names.js';
import { type RuleContext, show } from './rule-context.js';
import { checkFilters, checkMetadata } from './rules-common.js';
import type { EventPolicy } from './schemas/event-policy.js';

export function checkEventPolicy(ctx: RuleContext, policy: EventPolicy): void {
  checkMetadata(ctx, policy.metadata, { subdomain: true });
  const { to = [], from = [], filters } = policy.spec ?? {};
  for (const [i, entry] of from.entries()) {
    const path = ['spec', 'from', i];
    const hasSub = entry.sub !== undefined && entry.sub !== '';
    if (!entry.ref && !hasSub) ctx.error(path, 'expected exactly one of "ref" or "sub", found neither');
    if (entry.ref && entry.sub !== undefined)
      ctx.error(path, 'expected exactly one of "ref" or "sub", found both');
    if (entry.ref) checkRef(ctx, entry.ref, [...path, 'ref']);
    if (entry.sub !== undefined) {
      const star = entry.sub.indexOf('*');
      if (star >= 0 && star < entry.sub.length - 1)
        ctx.error(
          [...path, 'sub'],
          `invalid subject ${show(entry.sub)}: "*" is only allowed as the last character (a prefix match)`,
        );
    }
  }
  for (const [i, entry] of to.entries()) {
    const path = ['spec', 'to', i];
    if (!entry.ref && !entry.selector)
      ctx.error(path, 'expected exactly one of "ref" or "selector", found neither');
    if (entry.ref && entry.selector)
      ctx.error(path, 'expected exactly one of "ref" or "selector", found both');
    if (entry.ref) checkRef(ctx, entry.ref, [...path, 'ref']);
    if (entry.selector) checkRef(ctx, { ...entry.selector, name: 'selector' }, [...path, 'selector']);
  }
  checkFilters(ctx, filters, ['spec', 'filters']);
}

function checkRef(
  ctx: RuleContext,
  ref: { apiVersion: string; kind: string; name: string },
  path: FieldPath,
) {
  if (!parseApiVersion(ref.apiVersion))
    ctx.error(
      [...path, 'apiVersion'],
      `expected "group/version" or "version", found ${show(ref.apiVersion)}`,
    );
  if (ref.kind === '') ctx.error([...path, 'kind'], 'must not be empty');
  if (ref.name === '') ctx.error([...path, 'name'], 'must not be empty');
}
