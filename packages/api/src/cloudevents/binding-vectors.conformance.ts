// Reads the CloudEvents conformance corpus (../shared/conformance/cloudevents-conformance beside the
// repository) for tests: the HTTP and Kafka binding features' scenarios and the YAML events. Test-only (kept out
// of dist like every *.conformance.ts); broker ingress tests post the same vectors. Nothing of the
// corpus is copied into the project.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const conformanceCorpus = resolve(repoRoot, '../shared/conformance/cloudevents-conformance');
const httpFeature = join(conformanceCorpus, 'features/http-protocol-binding.feature');
const kafkaFeature = join(conformanceCorpus, 'features/kafka-protocol-binding.feature');

/** Why the corpus cannot be used, or undefined when it is there. */
export const conformanceCorpusMissing: string | undefined =
  existsSync(httpFeature) && existsSync(kafkaFeature)
    ? undefined
    : `CloudEvents conformance corpus not found at ${conformanceCorpus} (expected ../shared/conformance beside the repo)`;

export interface HttpFeatureVector {
  name: string;
  method: string;
  /** Header names as written in the request (not lower-cased). */
  headers: Record<string, string>;
  body: string;
  attributes: Record<string, string>;
  dataJson: string | undefined;
}

function readTable(lines: string[], start: number): { rows: string[][]; next: number } {
  const rows: string[][] = [];
  let i = start;
  while (i < lines.length && (lines[i] ?? '').trim().startsWith('|')) {
    rows.push(
      (lines[i] ?? '')
        .trim()
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
    i++;
  }
  return { rows, next: i };
}

function readDocString(lines: string[], start: number): { text: string; next: number } {
  const indent = (lines[start] ?? '').indexOf('"""');
  const body: string[] = [];
  let i = start + 1;
  while (i < lines.length && (lines[i] ?? '').trim() !== '"""') {
    body.push((lines[i] ?? '').slice(indent));
    i++;
  }
  return { text: body.join('\n'), next: i + 1 };
}

function tableToRecord(rows: string[][]): Record<string, string> {
  const [header, ...data] = rows;
  if (header?.[0] !== 'key' || header[1] !== 'value') throw new Error(`unexpected table header ${header}`);
  return Object.fromEntries(data.map((row) => [row[0] ?? '', row[1] ?? '']));
}

function parseRawRequest(text: string): Pick<HttpFeatureVector, 'method' | 'headers' | 'body'> {
  const [head = '', ...rest] = text.split('\n\n');
  const [requestLine = '', ...headerLines] = head.split('\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { method: requestLine.split(' ')[0] ?? '', headers, body: rest.join('\n\n') };
}

/** One scenario of a feature file (outlines expanded): its steps' doc strings and key/value tables. */
export interface FeatureScenario {
  name: string;
  /** Doc string after the step whose text ends with the key (e.g. `an HTTP request`). */
  docs: Record<string, string>;
  /** Key/value table after the step whose text ends with the key (e.g. `the attributes are:`). */
  tables: Record<string, Record<string, string>>;
}

const DOC_STEPS = [
  'an HTTP request',
  'a Kafka message with payload:',
  'the data is equal to the following JSON:',
];
const TABLE_STEPS = ['the attributes are:', 'Kafka headers:'];

/**
 * Reads the few Gherkin constructs the conformance features use: Scenario / Scenario Outline with
 * Examples, and doc strings and key/value tables after steps.
 */
export function readFeatureScenarios(
  feature: 'http-protocol-binding' | 'kafka-protocol-binding',
): FeatureScenario[] {
  const lines = readFileSync(join(conformanceCorpus, 'features', `${feature}.feature`), 'utf8').split('\n');
  const scenarios: FeatureScenario[] = [];
  let i = 0;
  while (i < lines.length) {
    const scenario = /^Scenario(?: Outline)?:\s*(.*)$/.exec((lines[i] ?? '').trim());
    if (!scenario) {
      i++;
      continue;
    }
    const docs: Record<string, string> = {};
    const tables: Record<string, Record<string, string>> = {};
    let examples: Record<string, string>[] = [{}];
    i++;
    while (i < lines.length && !/^\s*Scenario/.test(lines[i] ?? '')) {
      const step = (lines[i] ?? '').trim();
      const docStep = DOC_STEPS.find((suffix) => step.endsWith(suffix));
      const tableStep = TABLE_STEPS.find((suffix) => step.endsWith(suffix));
      if (docStep) {
        const doc = readDocString(lines, i + 1);
        docs[docStep] = doc.text;
        i = doc.next;
      } else if (tableStep) {
        const table = readTable(lines, i + 1);
        tables[tableStep] = tableToRecord(table.rows);
        i = table.next;
      } else if (step.startsWith('Examples:')) {
        const table = readTable(lines, i + 1);
        const [names, ...rows] = table.rows;
        examples = rows.map((row) => Object.fromEntries((names ?? []).map((n, k) => [n, row[k] ?? ''])));
        i = table.next;
      } else {
        i++;
      }
    }
    for (const example of examples) {
      const fill = (text: string) =>
        text.replace(/<([^>]+)>/g, (_, name: string) => example[name] ?? `<${name}>`);
      const fillValues = (r: Record<string, string>) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fill(v)]));
      scenarios.push({
        name: fill(scenario[1] ?? ''),
        docs: fillValues(docs),
        tables: Object.fromEntries(Object.entries(tables).map(([k, t]) => [k, fillValues(t)])),
      });
    }
  }
  return scenarios;
}

/** Every scenario of features/http-protocol-binding.feature, outlines expanded. */
export function readHttpFeatureVectors(): HttpFeatureVector[] {
  return readFeatureScenarios('http-protocol-binding').map((s) => ({
    name: s.name,
    ...parseRawRequest(s.docs['an HTTP request'] ?? ''),
    attributes: s.tables['the attributes are:'] ?? {},
    dataJson: s.docs['the data is equal to the following JSON:'],
  }));
}

export interface KafkaFeatureVector {
  name: string;
  payload: string;
  headers: Record<string, string>;
  attributes: Record<string, string>;
  dataJson: string | undefined;
}

/** Every scenario of features/kafka-protocol-binding.feature, outlines expanded. */
export function readKafkaFeatureVectors(): KafkaFeatureVector[] {
  return readFeatureScenarios('kafka-protocol-binding').map((s) => ({
    name: s.name,
    payload: s.docs['a Kafka message with payload:'] ?? '',
    headers: s.tables['Kafka headers:'] ?? {},
    attributes: s.tables['the attributes are:'] ?? {},
    dataJson: s.docs['the data is equal to the following JSON:'],
  }));
}

export interface YamlEventVector {
  /** `<file> #<index>` */
  name: string;
  mode: 'binary' | 'structured' | undefined;
  attributes: Record<string, string>;
  extensions: Record<string, string>;
  data: string | undefined;
}

/** The YAML events of yaml/ (read with the failsafe schema: every scalar is a string). */
export function readYamlEventVectors(): YamlEventVector[] {
  const files = ['yaml/v1.yaml', 'yaml/v03.yaml'];
  for (const dir of ['yaml/v1.0', 'yaml/v0.3']) {
    for (const f of readdirSync(join(conformanceCorpus, dir))) files.push(`${dir}/${f}`);
  }
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(conformanceCorpus, file), 'utf8'), { schema: 'failsafe' }).map(
      (doc, index) => {
        const raw = doc.toJS() as {
          Mode?: string;
          ContextAttributes: Record<string, string> & { Extensions?: Record<string, string> };
          Data?: string;
        };
        const { Extensions: extensions = {}, ...attributes } = raw.ContextAttributes;
        const mode = raw.Mode === 'binary' || raw.Mode === 'structured' ? raw.Mode : undefined;
        return { name: `${file} #${index}`, mode, attributes, extensions, data: raw.Data };
      },
    ),
  );
}
