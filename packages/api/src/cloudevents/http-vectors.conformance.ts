// Reads the CloudEvents conformance corpus (../shared/conformance/cloudevents-conformance beside the
// repository) for tests: the HTTP binding feature's scenarios and the YAML events. Test-only (kept out
// of dist like every *.conformance.ts); broker ingress tests post the same vectors. Nothing of the
// corpus is copied into the project.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const conformanceCorpus = resolve(repoRoot, '../shared/conformance/cloudevents-conformance');
const httpFeature = join(conformanceCorpus, 'features/http-protocol-binding.feature');

/** Why the corpus cannot be used, or undefined when it is there. */
export const conformanceCorpusMissing: string | undefined = existsSync(httpFeature)
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

/** Every scenario of features/http-protocol-binding.feature, outlines expanded. */
export function readHttpFeatureVectors(): HttpFeatureVector[] {
  const lines = readFileSync(httpFeature, 'utf8').split('\n');
  const vectors: HttpFeatureVector[] = [];
  let i = 0;
  while (i < lines.length) {
    const scenario = /^Scenario(?: Outline)?:\s*(.*)$/.exec((lines[i] ?? '').trim());
    if (!scenario) {
      i++;
      continue;
    }
    let request = '';
    let attributes: Record<string, string> = {};
    let dataJson: string | undefined;
    let examples: Record<string, string>[] = [{}];
    i++;
    while (i < lines.length && !/^\s*Scenario/.test(lines[i] ?? '')) {
      const step = (lines[i] ?? '').trim();
      if (step.endsWith('an HTTP request')) {
        const doc = readDocString(lines, i + 1);
        request = doc.text;
        i = doc.next;
      } else if (step.endsWith('the attributes are:')) {
        const table = readTable(lines, i + 1);
        attributes = tableToRecord(table.rows);
        i = table.next;
      } else if (step.endsWith('the data is equal to the following JSON:')) {
        const doc = readDocString(lines, i + 1);
        dataJson = doc.text;
        i = doc.next;
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
      const fill = (s: string) => s.replace(/<([^>]+)>/g, (_, name: string) => example[name] ?? `<${name}>`);
      vectors.push({
        name: fill(scenario[1] ?? ''),
        ...parseRawRequest(fill(request)),
        attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, fill(v)])),
        dataJson,
      });
    }
  }
  return vectors;
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
