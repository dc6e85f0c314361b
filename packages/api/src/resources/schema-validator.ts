import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type FieldPath, formatPath, pathFromPointer } from './field-path.js';
import { show } from './rule-context.js';
import { FILTER_SCHEMA_ID, SubscriptionsAPIFilterSchema } from './schemas/common.js';

export interface SchemaIssue {
  /** The offending field (for a missing field: the field that should be there). */
  path: FieldPath;
  /** Where to point in the YAML: the field's key, or its value. */
  at: 'key' | 'value';
  message: string;
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
ajv.addSchema(SubscriptionsAPIFilterSchema as object);
const REFS: Record<string, TSchema> = { [FILTER_SCHEMA_ID]: SubscriptionsAPIFilterSchema };
const compiled = new WeakMap<TSchema, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema as object);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Describes a decoded YAML value the way a user sees it. */
export function describeValue(v: unknown): string {
  return describeShown(v);
}

function describeShown(v: unknown): string {
  if (v === null || v === undefined) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${show(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  return typeof v;
}

const TYPE_NAMES: Record<string, string> = {
  array: 'a list',
  object: 'a map',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  null: 'null',
};

function typeName(t: unknown): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => TYPE_NAMES[String(x)] ?? String(x)).join(' or ');
}

/** The schema that applies at `path` under `schema`, following properties, items, records and refs. */
export function schemaAt(schema: TSchema | undefined, path: FieldPath): TSchema | undefined {
  let cur: TSchema | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    if (typeof cur.$ref === 'string') cur = REFS[cur.$ref];
    if (!cur) return undefined;
    if (typeof seg === 'number') cur = cur.items as TSchema | undefined;
    else if (cur.properties && seg in cur.properties) cur = (cur.properties as Record<string, TSchema>)[seg];
    else if (cur.patternProperties) cur = Object.values(cur.patternProperties as Record<string, TSchema>)[0];
    else return undefined;
  }
  if (cur && typeof cur.$ref === 'string') cur = REFS[cur.$ref];
  return cur;
}

function propertiesOf(schema: TSchema | undefined): string[] {
  return schema?.properties ? Object.keys(schema.properties as object) : [];
}

/** Explains an unknown field: a sibling with another case, a field one level up (bad indent), or one down. */
function unknownFieldHint(root: TSchema, parent: FieldPath, key: string): string {
  const here = propertiesOf(schemaAt(root, parent));
  const sameCase = here.find((p) => p.toLowerCase() === key.toLowerCase());
  if (sameCase) return `; did you mean "${sameCase}"? (field names are case-sensitive)`;
  for (const child of here) {
    if (propertiesOf(schemaAt(root, [...parent, child])).includes(key))
      return `; did you mean ${formatPath([...parent, child, key])}?`;
  }
  // Walk up, but not to the top level: apiVersion/kind/metadata misplaced deep down are rarely indent slips.
  for (let up = parent.length - 1; up >= 1; up--) {
    const ancestor = parent.slice(0, up);
    if (propertiesOf(schemaAt(root, ancestor)).includes(key))
      return `; "${key}" is a field of ${formatPath(ancestor)}, not of ${formatPath(parent)}: check the indentation`;
  }
  if (here.length > 0 && here.length <= 12) return `; expected one of: ${here.join(', ')}`;
  return '';
}

/** Describes a value by its type only, for values no message may show (a Secret's). */
function describeHidden(v: unknown): string {
  if (v === null || v === undefined) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  const t = typeof v;
  if (t === 'object') return 'a map';
  if (t === 'number')
    return Number.isInteger(v) ? 'an integer (value not shown)' : 'a number (value not shown)';
  if (t === 'string') return 'a string (value not shown)';
  if (t === 'boolean') return 'a boolean (value not shown)';
  return t;
}

export interface ValidateOptions {
  /** True for a path whose value must not appear in a message (it is described by its type only). */
  hideValue?: (path: FieldPath) => boolean;
}

function toIssue(
  root: TSchema,
  data: unknown,
  e: ErrorObject,
  options: ValidateOptions,
): SchemaIssue | undefined {
  const path = pathFromPointer(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  const describeValue = options.hideValue?.(path) ? describeHidden : describeShown;
  switch (e.keyword) {
    case 'required':
      return { path: [...path, String(p.missingProperty)], at: 'key', message: 'required field is missing' };
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      return {
        path: [...path, key],
        at: 'key',
        message: `unknown field ${show(key)}${unknownFieldHint(root, path, key)}`,
      };
    }
    case 'type':
      return { path, at: 'value', message: `expected ${typeName(p.type)}, found ${describeValue(e.data)}` };
    case 'enum':
      return {
        path,
        at: 'value',
        message: `expected one of ${(p.allowedValues as unknown[]).map((v) => show(v)).join(', ')}, found ${describeValue(e.data)}`,
      };
    case 'const':
      return {
        path,
        at: 'value',
        message: `expected ${show(p.allowedValue)}, found ${describeValue(e.data)}`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        path,
        at: 'value',
        message: `expected a value ${p.comparison} ${p.limit}, found ${describeValue(e.data)}`,
      };
    case 'minItems':
      return {
        path,
        at: 'value',
        message: `expected at least ${p.limit} item(s), found ${(e.data as unknown[]).length}`,
      };
    case 'maxItems':
      return {
        path,
        at: 'value',
        message: `expected at most ${p.limit} item(s), found ${(e.data as unknown[]).length}`,
      };
    case 'pattern':
      return {
        path,
        at: 'value',
        message: `expected a value matching ${p.pattern}, found ${describeValue(e.data)}`,
      };
    default:
      return { path, at: 'value', message: e.message ?? `invalid (${e.keyword})` };
  }
}

/** Validates `data` against `schema`; one issue per distinct problem, in document order of paths. */
export function validateSchema(schema: TSchema, data: unknown, options: ValidateOptions = {}): SchemaIssue[] {
  const fn = compile(schema);
  if (fn(data)) return [];
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const e of fn.errors ?? []) {
    const issue = toIssue(schema, data, e, options);
    if (!issue) continue;
    const key = `${formatPath(issue.path)}|${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}
