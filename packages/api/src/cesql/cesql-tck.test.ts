/**
 * The CloudEvents SQL v1.0 TCK, read in place from ../shared/conformance/cesql-tck (next to the repository),
 * one test per case. Every case checks the value and the exact error kinds; parse and missingFunction errors
 * are compile-time errors here (an expression that cannot be compiled never reaches an event).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CesqlCompileError, type CesqlErrorKind, compileCesql } from './index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TCK_DIR = resolve(REPO_ROOT, '../shared/conformance/cesql-tck');

interface TckCase {
  name: string;
  expression: string;
  result?: boolean | number | string;
  error?: CesqlErrorKind;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

interface TckFile {
  name: string;
  tests: TckCase[];
}

/** "Any valid event" for cases that do not give one: the required attributes only. */
const DEFAULT_EVENT = { specversion: '1.0', id: 'tck-event', source: '/cesql/tck', type: 'dev.eddy.tck' };

function inputEvent(tc: TckCase): Record<string, unknown> {
  return { ...(tc.event ?? DEFAULT_EVENT), ...(tc.eventOverrides ?? {}) };
}

const files = existsSync(TCK_DIR)
  ? readdirSync(TCK_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
  : [];

if (files.length === 0) {
  describe('CESQL TCK', () => {
    it.skip(`corpus not found at ${TCK_DIR} (expected the cesql-tck folder of ../shared/conformance next to the repository)`, () => {});
  });
}

let total = 0;
for (const file of files) {
  const suite = parseYaml(readFileSync(join(TCK_DIR, file), 'utf8')) as TckFile;
  // Plain scalars such as `expression: TRUE` or `expression: -10` come out of YAML as booleans and numbers.
  for (const tc of suite.tests) tc.expression = String(tc.expression);
  total += suite.tests.length;
  describe(`${file} (${suite.name})`, () => {
    for (const tc of suite.tests) {
      it(`${file}: ${tc.name}`, () => {
        if (tc.error === 'parse' || tc.error === 'missingFunction') {
          let thrown: unknown;
          try {
            compileCesql(tc.expression);
          } catch (e) {
            thrown = e;
          }
          expect(thrown, `compiling ${tc.expression}`).toBeInstanceOf(CesqlCompileError);
          expect((thrown as CesqlCompileError).kind).toBe(tc.error);
          return;
        }
        const compiled = compileCesql(tc.expression);
        const event = inputEvent(tc);
        const { value, errors } = compiled.evaluate(event);
        if (tc.result !== undefined) expect(value).toStrictEqual(tc.result);
        if (tc.error) {
          expect(errors.length, `expected a ${tc.error} error`).toBeGreaterThan(0);
          expect(errors.map((e) => e.kind)).toEqual(errors.map(() => tc.error));
        } else {
          expect(errors).toEqual([]);
        }
        expect(compiled.matches(event)).toBe(value === true && errors.length === 0);
      });
    }
  });
}

if (files.length > 0) {
  it('the corpus holds the 275 cases of CESQL v1.0.0', () => {
    expect(total).toBe(275);
  });
}
