// What kube-apiserver requires of a CRD's openAPIV3Schema ("structural schemas", apiextensions.k8s.io/v1),
// as far as the generated CRDs rely on it, plus the API server's defaulting algorithm. Both exist so unit
// tests can prove a CRD is accepted, and that its `default:`s agree with `eddy validate`'s defaulting,
// without starting an API server (the end-to-end test then confirms it against a real one).

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the generator emits. */
export interface JsonSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, JsonSchemaProps>;
  additionalProperties?: JsonSchemaProps;
  items?: JsonSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
}

/** The keywords apiextensions v1 accepts that this generator may emit; anything else is a generator bug. */
const ALLOWED = new Set<string>([
  'type',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'enum',
  'default',
  'description',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-validations',
]);

/** Keywords v1 CRDs reject outright (they exist in JSON Schema, not in Kubernetes' dialect). */
const FORBIDDEN = ['$ref', '$id', '$schema', 'const', 'patternProperties', 'definitions', 'dependencies'];

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/**
 * Structural-schema problems of a CRD's openAPIV3Schema, each as `<path>: <what>`; empty when the API
 * server would accept it. Checked: every node has a type unless it preserves unknown fields or is
 * int-or-string; no forbidden keywords; properties and additionalProperties never together;
 * additionalProperties is a schema, never a boolean; the root `metadata` is `type: object` only; every
 * `required` name is a property; defaults validate against their own schema; regular expressions avoid
 * what RE2 (Go) lacks.
 */
export function structuralProblems(root: JsonSchemaProps): string[] {
  const problems: string[] = [];
  if (root.type !== 'object') problems.push('(root): type must be object');
  const meta = root.properties?.metadata;
  if (meta && (meta.type !== 'object' || Object.keys(meta).length !== 1))
    problems.push('metadata: must be exactly {type: object} (the API server owns its schema)');
  walk(root, '', problems);
  return problems;
}

function walk(s: JsonSchemaProps, path: string, problems: string[]): void {
  const at = path || '(root)';
  for (const key of Object.keys(s)) {
    if (FORBIDDEN.includes(key)) problems.push(`${at}: ${key} is not allowed in a CRD schema`);
    else if (!ALLOWED.has(key)) problems.push(`${at}: unexpected keyword ${key}`);
  }
  const open = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  if (!s.type && !open) problems.push(`${at}: type is required (or x-kubernetes-preserve-unknown-fields)`);
  if (s['x-kubernetes-int-or-string'] && s.type) problems.push(`${at}: int-or-string must not set a type`);
  if (s.properties && s.additionalProperties)
    problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
  if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'object')
    problems.push(`${at}: additionalProperties must be a schema (false is forbidden in v1)`);
  if ((s.properties || s.additionalProperties) && s.type !== 'object')
    problems.push(`${at}: properties need type object`);
  if (s.items && s.type !== 'array') problems.push(`${at}: items need type array`);
  if (s.type === 'array' && !s.items) problems.push(`${at}: an array needs items`);
  if (s.type && !SCALARS.has(s.type) && s.enum) problems.push(`${at}: enum on a non-scalar`);
  for (const r of s.required ?? [])
    if (!s.properties || !(r in s.properties)) problems.push(`${at}: required ${r} is not a property`);
  if (s.pattern !== undefined && /\(\?[=!<]|\\[1-9]/.test(s.pattern))
    problems.push(`${at}: pattern uses lookaround or backreferences, which RE2 lacks`);
  if (s.default !== undefined) {
    for (const p of valueProblems(s, s.default, `${at} default`)) problems.push(p);
  }
  for (const [k, child] of Object.entries(s.properties ?? {}))
    walk(child, path ? `${path}.${k}` : k, problems);
  if (s.additionalProperties) walk(s.additionalProperties, `${path}[*]`, problems);
  if (s.items) walk(s.items, `${path}[]`, problems);
}

/** Does `value` fit `s` (types, enums, required, no unknown fields where pruning would drop them)? */
export function valueProblems(s: JsonSchemaProps, value: unknown, path: string): string[] {
  if (s['x-kubernetes-int-or-string'])
    return Number.isInteger(value) || typeof value === 'string' ? [] : [`${path}: not int-or-string`];
  if (!s.type) return [];
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const fits =
    s.type === 'integer'
      ? Number.isInteger(value)
      : s.type === 'number'
        ? kind === 'number'
        : s.type === kind;
  if (!fits) return [`${path}: expected ${s.type}, found ${kind}`];
  const out: string[] = [];
  if (s.enum && !s.enum.includes(value)) out.push(`${path}: not one of the enum values`);
  if (s.type === 'array')
    (value as unknown[]).forEach((v, i) => {
      out.push(...valueProblems(s.items!, v, `${path}[${i}]`));
    });
  if (s.type === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in obj)) out.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      const child = s.properties?.[k] ?? s.additionalProperties;
      if (child) out.push(...valueProblems(child, v, `${path}.${k}`));
      else if (!s['x-kubernetes-preserve-unknown-fields']) out.push(`${path}.${k}: unknown field (pruned)`);
    }
  }
  return out;
}

/**
 * The API server's structural defaulting: where a property is absent (or null) and its schema has a
 * default, a copy of the default is set; then every present property and item is visited, so defaults
 * nested inside a defaulted value apply too. Mutates and returns `value`.
 */
export function applyStructuralDefaults(s: JsonSchemaProps, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (s.items) for (const item of value) applyStructuralDefaults(s.items, item);
    return value;
  }
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  for (const [k, prop] of Object.entries(s.properties ?? {})) {
    if ((obj[k] === undefined || obj[k] === null) && prop.default !== undefined)
      obj[k] = structuredClone(prop.default);
  }
  for (const [k, v] of Object.entries(obj)) {
    const child = s.properties?.[k] ?? s.additionalProperties;
    if (child) applyStructuralDefaults(child, v);
  }
  return obj;
}
