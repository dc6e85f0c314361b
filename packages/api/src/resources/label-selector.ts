import type { LabelSelector } from './schemas/common.js';

/** Whether `labels` satisfy a Kubernetes label selector (matchLabels AND every matchExpression). */
export function matchesLabelSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const [i, expr] of (selector.matchExpressions ?? []).entries()) {
    const has = Object.hasOwn(labels, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[expr.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[expr.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new TypeError(
          `selector.matchExpressions[${i}].operator: expected In, NotIn, Exists or DoesNotExist, found ${JSON.stringify(expr.operator)}`,
        );
    }
  }
  return true;
}
