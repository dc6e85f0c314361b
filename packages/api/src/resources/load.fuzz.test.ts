// Hostile manifests: any YAML text, deep nesting, big documents and anchors. loadText never throws;
// every failure is a problem located in the file (line and column), never an internal error.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkFuzz, oddString } from '../../../../test/harness/fuzz.js';
import { loadText } from './load.js';

function loadAndCheck(text: string): void {
  const result = loadText(text, 'fuzz.yaml');
  for (const problem of result.problems) {
    expect(problem.file).toBe('fuzz.yaml');
    expect(problem.line).toBeGreaterThanOrEqual(1);
    expect(problem.column).toBeGreaterThanOrEqual(0);
    expect(problem.message).not.toMatch(
      /internal error|Maximum call stack|undefined is not|Cannot read prop/,
    );
  }
}

const KINDS: readonly (readonly [string, string])[] = [
  ['eventing.knative.dev/v1', 'Broker'],
  ['eventing.knative.dev/v1', 'Trigger'],
  ['messaging.knative.dev/v1', 'Channel'],
  ['messaging.knative.dev/v1', 'Subscription'],
  ['sources.knative.dev/v1', 'PingSource'],
  ['sources.knative.dev/v1', 'ApiServerSource'],
  ['serving.knative.dev/v1', 'Service'],
  ['v1', 'ConfigMap'],
];

/** Resource-shaped documents whose fields hold any JSON: the validators see every wrong type. */
const manifest = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    name: fc.oneof(fc.constantFrom('ok', 'a-b'), oddString(10)),
    spec: fc.dictionary(
      fc.constantFrom(
        'broker',
        'filter',
        'filters',
        'subscriber',
        'delivery',
        'schedule',
        'template',
        'sink',
        'x',
      ),
      fc.jsonValue({ maxDepth: 4 }),
      { maxKeys: 4 },
    ),
  })
  .map(({ kind: [apiVersion, kind], name, spec }) =>
    stringify({ apiVersion, kind, metadata: { name }, spec }),
  );

const yamlFragments = fc.constantFrom(
  '&a [1]',
  '*a',
  '*undefined',
  '<<: *a',
  '!!binary ZZZ',
  '!custom x',
  '? [a]: b',
  '{a: 1, a: 2}',
  '---',
  '...',
  '%YAML 1.1',
  '|-\n  x',
  '\t',
  ': :',
  '"\\u',
  "'",
);

describe('manifest loading under hostile YAML', () => {
  it('arbitrary text and resource-shaped documents give located problems, never an internal error', () => {
    const text = fc.oneof(
      manifest,
      fc.array(manifest, { minLength: 1, maxLength: 3 }).map((docs) => docs.join('---\n')),
      fc.tuple(manifest, fc.nat(), fc.oneof(yamlFragments, oddString(8))).map(([doc, at, junk]) => {
        const cut = at % (doc.length + 1);
        return doc.slice(0, cut) + junk + doc.slice(cut);
      }),
      fc
        .array(fc.oneof(yamlFragments, oddString(10), fc.constantFrom('\n', '  ', '- ', 'a: ')), {
          maxLength: 20,
        })
        .map((parts) => parts.join('')),
    );
    checkFuzz('yaml: arbitrary manifests', 0.99, text, loadAndCheck);
  });

  it('deep nesting, anchors and aliases are refused or loaded, located either way', () => {
    const hostile = fc.oneof(
      fc
        .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom(['[', ']'], ['{a: ', '}'], ['- ', '']))
        .map(([depth, [open, close]]) =>
          open === '- '
            ? `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata:\n${Array.from({ length: Math.min(depth, 500) }, (_, i) => `${'  '.repeat(i)}- `).join('\n')}x\n`
            : `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: ${open.repeat(depth)}1${close.repeat(depth)}\n`,
        ),
      fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })).map(([levels, width]) => {
        const lines = Array.from({ length: levels }, (_, i) =>
          i === 0
            ? `  l0: &l0 [x]`
            : `  l${i}: &l${i} [${Array(width)
                .fill(`*l${i - 1}`)
                .join(', ')}]`,
        );
        return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${lines.join('\n')}\n`;
      }),
    );
    checkFuzz('yaml: nesting and aliases', 0.01, hostile, loadAndCheck);
  });
});
