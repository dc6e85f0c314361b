// Validation of one object as the API server hands it to an admission webhook, by the very function
// `eddy validate` runs on files (loadText), so a refused `kubectl apply` says what `eddy validate` says.

import { loadText } from '../resources/load.js';
import { describeObject, type Problem } from '../resources/problem.js';

export interface ObjectValidation {
  /** No error-severity problem. */
  valid: boolean;
  /** Every problem, errors first, each as `formatProblemWithoutLocation` renders it. */
  errors: string[];
  warnings: string[];
  problems: Problem[];
  /**
   * The object after `eddy validate`'s defaulting (applyDefaults), when valid: what the mutating webhook
   * makes the stored object look like.
   */
  defaulted?: Record<string, unknown>;
}

/** The name under which problems of a cluster object are reported (there is no file). */
const SOURCE = '(admission)';

/**
 * `eddy validate`'s line for a problem (formatProblem) without what only a file has: the file, line,
 * column, severity and document number. Kind, namespace/name and the field path stay:
 * `Trigger default/orders: spec.filters[0].cesql: ...`.
 */
export function formatProblemWithoutLocation(p: Problem): string {
  const who = describeObject(p.kind, p.namespace, p.name);
  return [who ? `${who}:` : '', p.path ? `${p.path}:` : '', p.message].filter(Boolean).join(' ');
}

/**
 * Validates one decoded object (an AdmissionReview's `request.object`). JSON is YAML, so the object goes
 * through loadText unchanged: schema, defaults, semantic rules, in `eddy validate`'s order. `namespace`
 * (the request's) fills an object that names none, as the API server does before storing it.
 */
export function validateObject(object: unknown, namespace?: string): ObjectValidation {
  let input = object;
  if (namespace && object && typeof object === 'object' && !Array.isArray(object)) {
    const o = object as Record<string, unknown>;
    const meta = (o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as Record<string, unknown>;
    if (!meta.namespace) input = { ...o, metadata: { ...meta, namespace } };
  }
  const result = loadText(JSON.stringify(input), SOURCE);
  const problems = result.problems;
  const errors = problems.filter((p) => p.severity === 'error').map(formatProblemWithoutLocation);
  const warnings = problems.filter((p) => p.severity === 'warning').map(formatProblemWithoutLocation);
  const doc = result.documents[0];
  const valid = errors.length === 0;
  return {
    valid,
    errors,
    warnings,
    problems,
    ...(valid && doc?.status === 'ok' && doc.resource ? { defaulted: doc.resource } : {}),
  };
}
