import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPaths, loadText, MAX_ALIAS_EXPANSIONS, MAX_FLOW_DEPTH, MAX_MANIFEST_BYTES } from './load.js';

describe('hostile YAML', () => {
  it('refuses an alias bomb with a located error instead of expanding it', () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const lines = levels.map((name, i) => {
      const items = i === 0 ? Array(9).fill('"x"') : Array(9).fill(`*${levels[i - 1]}`);
      return `    ${name}: &${name} [${items.join(',')}]`;
    });
    const text = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: ok}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: bomb
  annotations:
${lines.join('\n')}
`;
    const r = loadText(text, 'bomb.yaml');
    expect(r.resources.map((x) => x.name)).toEqual(['ok']);
    expect(r.documents[1]?.status).toBe('unparsable');
    expect(r.problems).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'yaml-syntax',
        file: 'bomb.yaml',
        document: 1,
        line: 5,
        message: `YAML aliases expand too much (more than ${MAX_ALIAS_EXPANSIONS} alias expansions in one document): refused as a resource exhaustion attack`,
      }),
    ]);
  });

  it('says a document nested thousands of levels deep is too deep, where it is', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    const r = loadText(text, 'deep.yaml');
    expect(r.resources).toEqual([]);
    expect(r.problems[0]).toMatchObject({
      severity: 'error',
      code: 'yaml-syntax',
      file: 'deep.yaml',
      line: 4,
      message: 'YAML nested too deeply to read (collections inside collections, thousands of levels)',
    });
  });

  // Found by bench/fuzz: a document 20,000 levels deep took over a second (2 s on a busy machine)
  // before the parser's stack overflowed; the scan refuses it in linear time.
  it('refuses flow collections nested over MAX_FLOW_DEPTH quickly, at the line and column where', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: ${'[{a: '.repeat(20_000)}1${'}]'.repeat(20_000)}\n`;
    const started = performance.now();
    const r = loadText(text, 'deep.yaml');
    expect(performance.now() - started).toBeLessThan(200);
    expect(r.problems).toEqual([
      expect.objectContaining({
        file: 'deep.yaml',
        line: 5,
        column: 6 + 5 * (MAX_FLOW_DEPTH / 2),
        code: 'yaml-syntax',
      }),
    ]);
    const quoted = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: q}\ndata: {a: "${'['.repeat(5000)}", b: '${'{'.repeat(5000)}'} # ${'['.repeat(5000)}\n`;
    expect(loadText(quoted, 'q.yaml').problems).toEqual([]);
    const nested = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\ndata: {a: ${'['.repeat(MAX_FLOW_DEPTH - 1)}1${']'.repeat(MAX_FLOW_DEPTH - 1)}}\n`;
    // Read (ConfigMap data must be strings, so the schema says so), not refused as too deep.
    expect(loadText(nested, 'n.yaml').problems.map((p) => p.message)).toEqual([
      'expected a string, found a list',
    ]);
  });

  it('refuses a manifest file over 10 MiB without reading it, naming the file and the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-big-manifest-'));
    try {
      const big = join(dir, 'big.yaml');
      const size = MAX_MANIFEST_BYTES + 1;
      writeFileSync(big, `# ${'x'.repeat(size - 3)}\n`);
      writeFileSync(
        join(dir, 'ok.yaml'),
        'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: ok}\n',
      );
      const r = await loadPaths([dir]);
      expect(r.resources.map((x) => x.name)).toEqual(['ok']);
      expect(r.problems).toEqual([
        expect.objectContaining({
          severity: 'error',
          code: 'io',
          file: big,
          line: 1,
          message: `file is ${size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes (10 MiB) for a manifest; split it into several files`,
        }),
      ]);
      expect(loadText(`# ${'x'.repeat(size)}`, 'stdin').problems[0]?.message).toMatch(
        /over the limit of 10485760 bytes/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
