import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, LineCounter, parseAllDocuments } from 'yaml';
import { lineAndColumn } from '../text/line-and-column.js';
import { applyDefaults, DEFAULT_NAMESPACE } from './defaults.js';
import { type FieldPath, formatPath } from './field-path.js';
import { lookupKind, supportedKindsText } from './kinds.js';
import { parseApiVersion } from './names.js';
import { blankLines, findPlaceholderLines, findPlaceholderValues } from './placeholders.js';
import { compareProblems, type Origin, type Problem, type ProblemCode, type Severity } from './problem.js';
import { RuleContext, show } from './rule-context.js';
import { describeValue, validateSchema } from './schema-validator.js';
import { locate, type Position } from './source-map.js';

export interface LoadOptions {
  /**
   * Blank out `...` placeholder lines (documentation elisions) and validate what remains, instead of
   * reporting the file as a fragment. Placeholder values (`<name>`) are still reported.
   */
  stripPlaceholders?: boolean;
}

/** What became of one YAML document. */
export type DocumentStatus =
  /** A valid Eddy resource, defaulted. */
  | 'ok'
  /** An Eddy kind with errors. */
  | 'invalid'
  /** A Knative kind Eddy does not run yet. */
  | 'unsupported'
  /** Not an Eddy resource (ConfigMap, Namespace, ...). */
  | 'ignored'
  /** Contains documentation placeholders. */
  | 'fragment'
  /** Not YAML, not an object, or no apiVersion/kind. */
  | 'unparsable';

export interface DocumentReport {
  origin: Origin;
  status: DocumentStatus;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  /** The defaulted resource, for status `ok`. */
  resource?: Record<string, unknown>;
}

/** A valid, defaulted Eddy resource and where it came from. */
export interface LoadedResource {
  origin: Origin;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  resource: Record<string, unknown>;
}

export interface LoadResult {
  files: string[];
  documents: DocumentReport[];
  resources: LoadedResource[];
  /** Sorted by file, line, column. */
  problems: Problem[];
}

export function hasErrors(result: { problems: readonly Problem[] }): boolean {
  return result.problems.some((p) => p.severity === 'error');
}

/** Kubernetes treats an explicit null as "not set"; dropping them keeps `annotations:` (empty) valid. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out;
  }
  return value;
}

interface DocContext {
  file: string;
  index: number;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  start: Position;
  problems: Problem[];
  kind?: string;
  namespace?: string;
  name?: string;
}

function report(
  d: DocContext,
  severity: Severity,
  code: ProblemCode,
  path: FieldPath,
  message: string,
  at: 'key' | 'value' = 'value',
  locatePath: FieldPath = path,
): void {
  const pos = locate(d.doc.contents, locatePath, at, d.lineCounter, d.start);
  d.problems.push({
    severity,
    code,
    file: d.file,
    document: d.index,
    line: pos.line,
    column: pos.column,
    ...(d.kind ? { kind: d.kind } : {}),
    ...(d.namespace ? { namespace: d.namespace } : {}),
    ...(d.name ? { name: d.name } : {}),
    path: formatPath(path),
    message,
  });
}

function who(d: DocContext): { name?: string; namespace?: string } {
  return { ...(d.name ? { name: d.name } : {}), ...(d.namespace ? { namespace: d.namespace } : {}) };
}

/**
 * How many alias expansions a document may make: a handful of anchors that each repeat the previous
 * one nine times (a "billion laughs" document) would otherwise expand to gigabytes.
 */
export const MAX_ALIAS_EXPANSIONS = 1000;

/**
 * Largest manifest file read: a YAML parser holds several times a document's size, so a huge file
 * (a log or a dump given by mistake, or on purpose) would exhaust memory before any error is shown.
 */
export const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

/**
 * Deepest nesting of flow collections (`[`, `{`) accepted. The YAML parser would reject thousands of
 * levels anyway (its stack overflows), but only after up to seconds of work per document: a scan first
 * keeps a hostile document cheap. Real manifests nest a few dozen levels.
 */
export const MAX_FLOW_DEPTH = 500;

/** The offset where flow collections nest deeper than MAX_FLOW_DEPTH, if they do (quotes and comments skipped). */
function flowTooDeepAt(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // A quoted scalar: skip to its end (a backslash escapes in double quotes; '' is a quote in single).
      for (i++; i < text.length && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) {
      depth--;
    }
  }
  return undefined;
}

const TOO_DEEP = 'YAML nested too deeply to read (collections inside collections, thousands of levels)';

function tooLarge(file: string, bytes: number): Problem {
  return ioProblem(
    file,
    `file is ${bytes} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes (10 MiB) for a manifest; split it into several files`,
  );
}

function processDocument(d: DocContext, raw: unknown): DocumentReport {
  const origin: Origin = { file: d.file, document: d.index, line: d.start.line, column: d.start.column };
  const obj =
    raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const meta =
    obj?.metadata && typeof obj.metadata === 'object' ? (obj.metadata as Record<string, unknown>) : {};
  const apiVersion = str(obj?.apiVersion);
  const kind = str(obj?.kind);
  if (kind) d.kind = kind;
  const head = { origin, ...(apiVersion ? { apiVersion } : {}), ...(kind ? { kind } : {}) };

  const placeholders = findPlaceholderValues(d.doc.contents);
  const nameIsPlaceholder = placeholders.some((h) => formatPath(h.path) === 'metadata.name');
  if (str(meta.name) && !nameIsPlaceholder) d.name = str(meta.name);
  if (d.name && str(meta.namespace)) d.namespace = str(meta.namespace);
  if (placeholders.length > 0) {
    for (const h of placeholders) {
      const at = h.node.range
        ? d.lineCounter.linePos(h.node.range[0])
        : { line: d.start.line, col: d.start.column };
      d.problems.push({
        severity: 'error',
        code: 'placeholder',
        file: d.file,
        document: d.index,
        line: at.line,
        column: at.col,
        ...(d.kind ? { kind: d.kind } : {}),
        ...(d.namespace ? { namespace: d.namespace } : {}),
        ...(d.name ? { name: d.name } : {}),
        path: formatPath(h.path),
        message: `placeholder ${show(h.text)} where a real value is needed (documentation fragment); replace it`,
      });
    }
    return { ...head, ...who(d), status: 'fragment' };
  }

  if (!obj) {
    report(
      d,
      'error',
      'not-an-object',
      [],
      `expected a map with apiVersion, kind and metadata, found ${describeValue(raw)}`,
    );
    return { ...head, ...who(d), status: 'unparsable' };
  }
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof obj[field] !== 'string' || obj[field] === '') {
      const found = field in obj ? `found ${describeValue(obj[field])}` : 'required field is missing';
      report(d, 'error', 'missing-type', [field], `expected a non-empty string, ${found}`, 'value');
    }
  }
  if (!apiVersion || !kind) return { ...head, ...who(d), status: 'unparsable' };
  const gv = parseApiVersion(apiVersion);
  if (!gv) {
    report(
      d,
      'error',
      'missing-type',
      ['apiVersion'],
      `expected "group/version" or "version", found ${show(apiVersion)}`,
    );
    return { ...head, ...who(d), status: 'unparsable' };
  }
  const lookup = lookupKind(gv.group, gv.version, kind);
  const gvk = `${apiVersion} ${kind}`;
  switch (lookup.status) {
    case 'later':
      report(
        d,
        'warning',
        'unsupported-kind',
        [],
        `not supported by Eddy yet: ${gvk} is parsed but not run`,
        'value',
        ['kind'],
      );
      return { ...head, ...who(d), status: 'unsupported' };
    case 'foreign':
      report(d, 'warning', 'ignored-kind', [], `ignored: ${gvk} is not an Eddy resource`, 'value', ['kind']);
      return { ...head, ...who(d), status: 'ignored' };
    case 'unknown-version': {
      const def = lookup.definition;
      report(
        d,
        'error',
        'unknown-kind',
        ['apiVersion'],
        `${kind} is not served at ${show(apiVersion)}; expected ${def.versions.map((v) => (def.group ? `${def.group}/${v}` : v)).join(' or ')}`,
      );
      return { ...head, ...who(d), status: 'invalid' };
    }
    case 'unknown': {
      const hint = lookup.suggestion
        ? `did you mean ${lookup.suggestion.kind} (${lookup.suggestion.group}/${lookup.suggestion.versions[0]})? Kinds are case-sensitive. `
        : '';
      report(
        d,
        'error',
        'unknown-kind',
        ['kind'],
        `unknown kind ${show(kind)} for ${apiVersion}; ${hint}Supported kinds: ${supportedKindsText()}`,
      );
      return { ...head, ...who(d), status: 'invalid' };
    }
    case 'supported':
      break;
  }

  // Namespaced Eddy kinds live in `default` unless they say otherwise (defaulting below does the same).
  if (d.name) d.namespace ??= DEFAULT_NAMESPACE;
  const definition = lookup.definition;
  const data = dropNulls(obj) as Record<string, unknown>;
  const hidden = definition.hiddenValues;
  const issues = validateSchema(
    definition.schema,
    data,
    hidden ? { hideValue: (path) => hidden.includes(String(path[0])) } : {},
  );
  for (const issue of issues) report(d, 'error', 'schema', issue.path, issue.message, issue.at);
  if (issues.length > 0) return { ...head, ...who(d), status: 'invalid' };

  const namespace = applyDefaults(data);
  if (d.name) d.namespace = namespace;
  const ctx = new RuleContext(namespace, d.name ?? '');
  definition.check(ctx, data);
  for (const f of ctx.findings)
    report(d, f.severity, 'semantic', f.path, f.message, f.atKey ? 'key' : 'value', f.locate ?? f.path);
  const status = ctx.findings.some((f) => f.severity === 'error') ? 'invalid' : 'ok';
  return {
    ...head,
    ...who(d),
    status,
    namespace,
    ...(status === 'ok' ? { resource: data } : {}),
  };
}

/** Loads and validates every document of one YAML text. */
export function loadText(text: string, file: string, options: LoadOptions = {}): Omit<LoadResult, 'files'> {
  const problems: Problem[] = [];
  const documents: DocumentReport[] = [];
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MANIFEST_BYTES) {
    return {
      documents: [{ origin: { file, document: 0, line: 1, column: 1 }, status: 'unparsable' }],
      resources: [],
      problems: [tooLarge(file, bytes)],
    };
  }
  const placeholderLines = findPlaceholderLines(text);
  if (placeholderLines.length > 0) {
    if (!options.stripPlaceholders) {
      for (const line of placeholderLines)
        problems.push({
          severity: 'error',
          code: 'placeholder',
          file,
          line,
          column: text.split(/\r?\n/)[line - 1]!.indexOf('.') + 1,
          path: '',
          message:
            'a "..." line elides part of the manifest (documentation fragment), it is not YAML; replace it with the omitted fields',
        });
      return {
        documents: [{ origin: { file, document: 0, line: 1, column: 1 }, status: 'fragment' }],
        resources: [],
        problems,
      };
    }
    text = blankLines(text, placeholderLines);
  }

  const deepAt = flowTooDeepAt(text);
  if (deepAt !== undefined) {
    const { line, column } = lineAndColumn(text, deepAt);
    return {
      documents: [{ origin: { file, document: 0, line: 1, column: 1 }, status: 'unparsable' }],
      resources: [],
      problems: [{ severity: 'error', code: 'yaml-syntax', file, line, column, path: '', message: TOO_DEEP }],
    };
  }

  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  let index = 0;
  for (const doc of docs) {
    const empty = doc.contents === null && doc.errors.length === 0;
    if (empty) continue;
    const startOffset = doc.contents?.range?.[0] ?? doc.range[0];
    const startPos = lineCounter.linePos(startOffset);
    const start = { line: startPos.line, column: startPos.col };
    const d: DocContext = { file, index, doc, lineCounter, start, problems };
    index++;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = lineCounter.linePos(err.pos[0]);
        problems.push({
          severity: 'error',
          code: 'yaml-syntax',
          file,
          document: d.index,
          line: pos.line,
          column: pos.col,
          path: '',
          message: /Maximum call stack size exceeded/.test(err.message)
            ? TOO_DEEP
            : `YAML syntax error: ${err.message.split('\n')[0]}`,
        });
      }
      documents.push({
        origin: { file, document: d.index, ...start, column: start.column },
        status: 'unparsable',
      });
      continue;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
    } catch (error) {
      problems.push({
        severity: 'error',
        code: 'yaml-syntax',
        file,
        document: d.index,
        line: start.line,
        column: start.column,
        path: '',
        message: /alias count/i.test((error as Error).message)
          ? `YAML aliases expand too much (more than ${MAX_ALIAS_EXPANSIONS} alias expansions in one document): refused as a resource exhaustion attack`
          : `YAML could not be read: ${(error as Error).message.split('\n')[0]}`,
      });
      documents.push({ origin: { file, document: d.index, ...start }, status: 'unparsable' });
      continue;
    }
    documents.push(processDocument(d, raw));
  }
  const resources = documents.flatMap((r): LoadedResource[] =>
    r.status === 'ok' && r.resource && r.apiVersion && r.kind && r.name && r.namespace
      ? [
          {
            origin: r.origin,
            apiVersion: r.apiVersion,
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            resource: r.resource,
          },
        ]
      : [],
  );
  return { documents, resources, problems };
}

const YAML_FILE = /\.ya?ml$/i;

async function collectFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await collectFiles(p)));
    else if (e.isFile() && YAML_FILE.test(e.name)) out.push(p);
  }
  return out;
}

function ioProblem(file: string, message: string): Problem {
  return { severity: 'error', code: 'io', file, line: 1, column: 1, path: '', message };
}

/**
 * Loads files and directories (recursively, `*.yaml` / `*.yml`, skipping hidden folders and
 * node_modules). Every file is checked even when others fail; duplicates across files are warned about.
 */
export async function loadPaths(paths: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const result: LoadResult = { files: [], documents: [], resources: [], problems: [] };
  for (const p of paths) {
    let files: string[];
    try {
      const st = await stat(p);
      files = st.isDirectory() ? await collectFiles(p) : [p];
      if (st.isDirectory() && files.length === 0)
        result.problems.push(ioProblem(p, 'no *.yaml or *.yml files in this directory'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      result.problems.push(
        ioProblem(
          p,
          code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${(e as Error).message}`,
        ),
      );
      continue;
    }
    for (const file of files) {
      if (result.files.includes(file)) continue;
      result.files.push(file);
      let text: string;
      try {
        // Checked before reading: the point is not to hold a huge file in memory at all.
        const { size } = await stat(file);
        if (size > MAX_MANIFEST_BYTES) {
          result.problems.push(tooLarge(file, size));
          continue;
        }
        text = await readFile(file, 'utf8');
      } catch (e) {
        result.problems.push(ioProblem(file, `cannot read: ${(e as Error).message}`));
        continue;
      }
      const one = loadText(text, file, options);
      result.documents.push(...one.documents);
      result.resources.push(...one.resources);
      result.problems.push(...one.problems);
    }
  }
  result.problems.push(...duplicateWarnings(result.resources));
  result.problems.sort(compareProblems);
  return result;
}

function duplicateWarnings(resources: readonly LoadedResource[]): Problem[] {
  const seen = new Map<string, LoadedResource>();
  const out: Problem[] = [];
  for (const r of resources) {
    const group = parseApiVersion(r.apiVersion)?.group ?? '';
    const key = `${group}/${r.kind}/${r.namespace}/${r.name}`;
    const first = seen.get(key);
    if (first) {
      out.push({
        severity: 'warning',
        code: 'duplicate',
        file: r.origin.file,
        document: r.origin.document,
        line: r.origin.line,
        column: r.origin.column,
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        path: '',
        message: `duplicate: also defined at ${first.origin.file}:${first.origin.line} (#${first.origin.document}); the later definition wins`,
      });
    }
    seen.set(key, r);
  }
  return out;
}
