/** Where a resource (or a problem) came from: the file, the document inside it and a 1-based position. */
export interface Origin {
  file: string;
  /** Index of the document among the non-empty documents of the file, from 0. */
  document: number;
  line: number;
  column: number;
}

export type Severity = 'error' | 'warning';

/**
 * What kind of problem it is, so callers (and tests) can branch without parsing messages:
 * - `io`: the file or directory could not be read.
 * - `yaml-syntax`: the text is not YAML.
 * - `placeholder`: a documentation placeholder (`...`, `<name>`, `{{ var }}`) stands where a value should be.
 * - `not-an-object`, `missing-type`: the document is not a Kubernetes-style object.
 * - `unknown-kind`: an Eddy/Knative API group with a kind (or version) we do not know.
 * - `unsupported-kind`: a Knative kind Eddy parses but does not run yet (warning).
 * - `ignored-kind`: an object from an API group that is not Eddy's (ConfigMap, Namespace, ...; warning).
 * - `schema`: the shape is wrong (missing field, wrong type, unknown field, bad enum value).
 * - `semantic`: the shape is right but a rule Knative's webhooks enforce is broken.
 * - `duplicate`: two documents define the same object (warning: the later one wins).
 */
export type ProblemCode =
  | 'io'
  | 'yaml-syntax'
  | 'placeholder'
  | 'not-an-object'
  | 'missing-type'
  | 'unknown-kind'
  | 'unsupported-kind'
  | 'ignored-kind'
  | 'schema'
  | 'semantic'
  | 'duplicate';

export interface Problem {
  severity: Severity;
  code: ProblemCode;
  file: string;
  /** Undefined when the problem is about the whole file (I/O, YAML stream errors). */
  document?: number;
  line: number;
  column: number;
  kind?: string;
  namespace?: string;
  name?: string;
  /** Field path in the object, e.g. `spec.filters[0].exact`; empty for the whole document. */
  path: string;
  message: string;
}

/** One line per problem: `file:line:col: severity: #doc Kind ns/name: field: message`. */
export function formatProblem(p: Problem): string {
  const parts = [`${p.file}:${p.line}:${p.column}: ${p.severity}:`];
  if (p.document !== undefined) parts.push(`#${p.document}`);
  const who = describeObject(p.kind, p.namespace, p.name);
  if (who) parts.push(`${who}:`);
  else if (p.document !== undefined) parts[parts.length - 1] += ':';
  if (p.path) parts.push(`${p.path}:`);
  parts.push(p.message);
  return parts.join(' ');
}

export function describeObject(kind?: string, namespace?: string, name?: string): string {
  if (!kind) return '';
  if (!name) return kind;
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

export function compareProblems(a: Problem, b: Problem): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
