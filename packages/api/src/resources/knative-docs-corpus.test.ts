/**
 * Runs the resource model against the Knative docs corpus (../shared/conformance/knative-docs-manifests,
 * read in place, never copied). The expected outcome of every file is derived from its index.json entry;
 * where the entry's "ok" only means "parses as YAML" but the manifest is not valid Knative, the exception
 * is listed in NOT_VALID_KNATIVE with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadPaths, loadText } from './load.js';
import type { Problem } from './problem.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CORPUS = resolve(REPO_ROOT, '../shared/conformance/knative-docs-manifests');
const present = existsSync(join(CORPUS, 'index.json'));
if (!present) console.warn(`knative-docs corpus not found at ${CORPUS}: skipping its tests`);

interface Entry {
  file: string;
  kinds: string[];
  status: string;
  note?: string;
}

/** One expected problem: `line:path` and a fragment of its message. */
type Expect = [at: string, message: string];

/** Files the index calls invalid in its notes: Knative's webhook rejects them, and so must Eddy. */
const KNOWN_INVALID: Record<string, Expect[]> = {
  // Two dialects in one filters entry.
  '03-trigger-triggers.yaml': [['9:spec.filters[0]', 'multiple dialects found (exact, suffix)']],
  // `filters` written as a map.
  '12-trigger-triggers.yaml': [['8:spec.filters', 'expected a list, found a map']],
  // `subscriber` indented under `filter`.
  '13-trigger-triggers.yaml': [
    ['8:spec.subscriber', 'required field is missing'],
    [
      '14:spec.filter.subscriber',
      '"subscriber" is a field of spec, not of spec.filter: check the indentation',
    ],
  ],
};

/** Index status "ok" (it parses) but not a valid Knative manifest; each with the reason. */
const NOT_VALID_KNATIVE: Record<string, { reason: string; problems: Expect[] }> = {
  '14-apiserversource-new-apiserversource-filters.yaml': {
    reason: '`resources: ...` and `sink: ...` are documentation placeholders',
    problems: [
      ['16:spec.resources', 'placeholder "..."'],
      ['17:spec.sink', 'placeholder "..."'],
    ],
  },
  '27-subscription-delivery-retryafter.yaml': {
    reason: 'no spec.channel: Knative rejects it ("the Subscription must reference a channel")',
    problems: [['7:spec.channel', 'required field is missing']],
  },
  '28-subscription-delivery-timeout.yaml': {
    reason: 'no spec.channel, as 27',
    problems: [['7:spec.channel', 'required field is missing']],
  },
  '29-kafkasource-event-registry.yaml': {
    reason: 'sink uses the pre-v1 inline apiVersion/kind/name form, which duckv1.Destination no longer has',
    problems: [
      ['14:spec.sink.apiVersion', 'did you mean spec.sink.ref.apiVersion?'],
      ['15:spec.sink.kind', 'did you mean spec.sink.ref.kind?'],
      ['16:spec.sink.name', 'did you mean spec.sink.ref.name?'],
    ],
  },
  '45-service-concurrency.yaml': {
    reason: 'the snippet shows only annotations; a Service needs spec.template.spec.containers',
    problems: [['8:spec.template.spec', 'required field is missing']],
  },
  '51-service-target-burst-capacity.yaml': {
    reason: '`name: <service_name>` is a placeholder',
    problems: [['6:metadata.name', 'placeholder "<service_name>"']],
  },
  '57-kafkasource-event-source.yaml': {
    reason: 'a template whose KAFKA_* values must be replaced ("Replace the following before applying")',
    problems: [
      ['40:spec.initialOffset', 'expected one of "earliest", "latest", found string "KAFKA_INITIAL_OFFSET"'],
      ['47:spec.net.sasl.enable', 'expected a boolean (true or false), found string "KAFKA_SASL_ENABLE"'],
      ['57:spec.net.tls.enable', 'expected a boolean (true or false), found string "KAFKA_TLS_ENABLE"'],
    ],
  },
  '60-githubsource-github-source.yaml': {
    reason: '`ownerAndRepository: <YOUR USER>/<YOUR REPO>` is a placeholder',
    problems: [['9:spec.ownerAndRepository', 'placeholder "<YOUR USER>/<YOUR REPO>"']],
  },
};

/** Index status "fragment" only because of a placeholder inside a comment: the manifest itself is valid. */
const FRAGMENT_ONLY_IN_COMMENTS = new Set(['21-broker-kafka-broker.yaml']);

/** After blanking the `...` lines, what the elision itself leaves missing (nothing else may be wrong). */
const STRIPPED: Record<string, Expect[]> = {
  Trigger: [
    ['4:metadata', 'required field is missing'],
    ['6:spec.subscriber', 'required field is missing'],
  ],
  APIServerSource: [
    ['3:kind', 'did you mean ApiServerSource (sources.knative.dev/v1)? Kinds are case-sensitive'],
  ],
  Service: [['7:spec.template', 'required field is missing']],
};

/** Fills what the elision removed, so the visible part (filters, traffic) gets the full semantic checks. */
// biome-ignore lint/suspicious/noExplicitAny: the corpus documents are plain decoded YAML.
const COMPLETE: Record<string, (o: any) => void> = {
  Trigger: (o) => {
    o.metadata = { name: 'completed' };
    o.spec.broker = 'default';
    o.spec.subscriber = { uri: 'http://display.example.com/' };
  },
  APIServerSource: (o) => {
    o.kind = 'ApiServerSource';
    o.metadata = { name: 'completed' };
    o.spec.resources = [{ apiVersion: 'v1', kind: 'Event' }];
    o.spec.sink = { uri: 'http://display.example.com/' };
  },
  Service: (o) => {
    o.spec.template = { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go:latest' }] } };
  },
};

const summarize = (problems: readonly Problem[]) => problems.map((p) => `${p.line}:${p.path}  ${p.message}`);

function expectProblems(problems: readonly Problem[], expected: Expect[]): void {
  expect(problems.map((p) => `${p.line}:${p.path}`)).toEqual(expected.map(([at]) => at));
  problems.forEach((p, i) => {
    expect(p.severity).toBe('error');
    expect(p.message).toContain(expected[i]![1]);
  });
}

const index = present
  ? (JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as { files: Entry[] })
  : { files: [] };

describe.skipIf(!present)('Knative docs manifests (../shared/conformance/knative-docs-manifests)', () => {
  it('has the 60 indexed files', () => {
    expect(index.files).toHaveLength(60);
  });

  for (const entry of index.files) {
    const path = join(CORPUS, entry.file);
    const text = present ? readFileSync(path, 'utf8') : '';

    if (entry.status === 'ok' && entry.note === undefined && !(entry.file in NOT_VALID_KNATIVE)) {
      it(`${entry.file}: valid Knative, loads without errors`, async () => {
        const result = await loadPaths([path]);
        expect(summarize(result.problems.filter((p) => p.severity === 'error'))).toEqual([]);
        expect([...new Set(result.documents.map((d) => d.kind))]).toEqual(entry.kinds);
        for (const d of result.documents) {
          // Kinds Eddy does not run are reported as warnings, never silently dropped. ConfigMaps
          // (and Secrets) are read: a Broker's spec.config, configMapKeyRef.
          const expected = ['Namespace'].includes(d.kind!)
            ? 'ignored'
            : ['EventPolicy'].includes(d.kind!)
              ? 'unsupported'
              : 'ok';
          expect(d.status).toBe(expected);
        }
        const warnings = result.problems.filter((p) => p.severity === 'warning');
        expect(warnings).toHaveLength(
          result.documents.filter((d) => d.status !== 'ok').length + duplicatesIn(result),
        );
      });
    } else if (entry.status === 'ok' && entry.note !== undefined) {
      it(`${entry.file}: known-invalid (${entry.note.slice(0, 60)}...) is rejected at the right line and field`, async () => {
        const expected = KNOWN_INVALID[entry.file];
        expect(expected, 'every noted file needs an expectation').toBeDefined();
        const result = await loadPaths([path]);
        expectProblems(result.problems, expected!);
        expect(result.documents.map((d) => d.status)).toEqual(['invalid']);
      });
    } else if (entry.status === 'ok') {
      const { reason, problems } = NOT_VALID_KNATIVE[entry.file]!;
      it(`${entry.file}: parses but is not valid Knative (${reason})`, async () => {
        const result = await loadPaths([path]);
        expectProblems(result.problems, problems);
      });
    } else if (entry.status === 'fragment' && FRAGMENT_ONLY_IN_COMMENTS.has(entry.file)) {
      it(`${entry.file}: placeholders only in comments, the manifest is valid`, async () => {
        const result = await loadPaths([path]);
        expect(summarize(result.problems)).toEqual([]);
        expect(result.documents.map((d) => d.status)).toEqual(['ok']);
      });
    } else if (entry.status === 'fragment') {
      it(`${entry.file}: reported as a fragment, each placeholder at its own line`, async () => {
        const result = await loadPaths([path]);
        expect(result.documents.map((d) => d.status)).toEqual(['fragment']);
        expect(result.problems.length).toBeGreaterThan(0);
        const lines = text.split('\n');
        for (const p of result.problems) {
          expect(p.code).toBe('placeholder');
          const quoted = /placeholder "([^"]+)"/.exec(p.message)![1]!;
          expect(lines[p.line - 1]).toContain(quoted);
        }
      });
    } else if (
      entry.status.startsWith('yaml-error') &&
      entry.status.includes('after stripping "..." placeholder lines: ok')
    ) {
      const dotLines = text
        .split('\n')
        .map((l, i) => (/^\s*\.\.\.\s*$/.test(l) ? i + 1 : 0))
        .filter(Boolean);
      it(`${entry.file}: "..." lines are reported as placeholders, no YAML noise, no crash`, async () => {
        const result = await loadPaths([path]);
        expect(result.problems.map((p) => [p.code, p.line])).toEqual(dotLines.map((l) => ['placeholder', l]));
        expect(result.documents.map((d) => d.status)).toEqual(['fragment']);
      });
      const kind = entry.kinds[0]!;
      it(`${entry.file}: with "..." blanked, only what the elision removed is missing`, () => {
        const result = loadText(text, entry.file, { stripPlaceholders: true });
        expectProblems(result.problems, STRIPPED[kind]!);
      });
      it(`${entry.file}: with the elided fields filled in, the visible part is valid`, () => {
        const stripped = text.replace(/^\s*\.\.\.\s*$/gm, '');
        const obj = parse(stripped);
        COMPLETE[kind]!(obj);
        const result = loadText(stringify(obj), entry.file);
        expect(summarize(result.problems)).toEqual([]);
        expect(result.documents.map((d) => d.status)).toEqual(['ok']);
      });
    } else {
      it(`${entry.file}: has an expectation`, () => {
        expect.fail(`no expectation for status ${JSON.stringify(entry.status)}`);
      });
    }
  }

  it('every file named in the exception tables exists in the index with the status they assume', () => {
    const byFile = new Map(index.files.map((e) => [e.file, e]));
    for (const f of [...Object.keys(KNOWN_INVALID), ...Object.keys(NOT_VALID_KNATIVE)])
      expect(byFile.get(f)?.status).toBe('ok');
    for (const f of FRAGMENT_ONLY_IN_COMMENTS) expect(byFile.get(f)?.status).toBe('fragment');
  });
});

function duplicatesIn(result: { problems: readonly Problem[] }): number {
  return result.problems.filter((p) => p.code === 'duplicate').length;
}
