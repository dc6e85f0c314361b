// The filter rules of `eddy validate`, for a control plane that receives resources that did not go
// through it: a data plane rejects a whole contract with an invalid filter, so the reconciler must
// keep such a Trigger out of it.

import { formatPath } from './field-path.js';
import { RuleContext } from './rule-context.js';
import { checkAttributeNames, checkFilters } from './rules-common.js';
import type { SubscriptionsAPIFilter } from './schemas/common.js';

/**
 * The errors `eddy validate` reports for a Trigger's `spec.filter` and `spec.filters` (attribute names,
 * one dialect per entry, CESQL that compiles), joined into one message; undefined when there are none.
 */
export function triggerFilterProblems(
  spec: { filter?: { attributes?: Record<string, string> }; filters?: SubscriptionsAPIFilter[] },
  namespace: string,
  name: string,
): string | undefined {
  const ctx = new RuleContext(namespace, name);
  checkAttributeNames(ctx, spec.filter?.attributes, ['spec', 'filter', 'attributes']);
  checkFilters(ctx, spec.filters, ['spec', 'filters']);
  const errors = ctx.findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return undefined;
  return errors.map((f) => `${formatPath(f.path)}: ${f.message}`).join('; ');
}
