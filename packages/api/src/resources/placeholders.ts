import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { FieldPath } from './field-path.js';

/**
 * Documentation snippets elide parts of a manifest with `...` lines and fill values with `<name>` or
 * `{{ var }}` placeholders. Such a snippet is a fragment, not a manifest: Eddy reports the placeholders
 * instead of a cascade of schema errors they cause.
 */

/**
 * 1-based numbers of the lines that are a bare `...`. An indented one is never YAML; at column 0 `...` is
 * YAML's document-end marker, so it counts as a placeholder only when content (not a new `---`
 * document or a directive) follows it.
 */
export function findPlaceholderLines(text: string): number[] {
  const lines = text.split(/\r?\n/);
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (!/^\s*\.\.\.\s*$/.test(line)) return;
    if (/^\s/.test(line)) {
      out.push(i + 1);
      return;
    }
    const next = lines.slice(i + 1).find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    if (next !== undefined && !next.startsWith('---') && !next.startsWith('%') && !/^\.\.\.\s*$/.test(next))
      out.push(i + 1);
  });
  return out;
}

/** Replaces the given lines by empty ones, so every other line keeps its number. */
export function blankLines(text: string, lineNumbers: readonly number[]): string {
  const set = new Set(lineNumbers);
  return text
    .split(/(?<=\n)/)
    .map((line, i) => (set.has(i + 1) ? line.replace(/[^\r\n]+/, '') : line))
    .join('');
}

/** Fields whose values are free text (payloads, expressions, commands), where `<x>` is legitimate. */
const FREE_TEXT = new Set([
  'annotations',
  'data',
  'dataBase64',
  'cesql',
  'args',
  'command',
  'env',
  'description',
]);

const ANGLE = /<[A-Za-z][A-Za-z0-9 _.-]*>/;
const TEMPLATE = /\{\{.*\}\}/;

export function isPlaceholderText(text: string): boolean {
  const t = text.trim();
  return t === '...' || t === '\u2026' || ANGLE.test(t) || TEMPLATE.test(t);
}

export interface PlaceholderHit {
  path: FieldPath;
  /** The key or value text that is a placeholder. */
  text: string;
  node: Node;
}

/** Finds placeholder keys and values in a parsed document, skipping free-text fields. */
export function findPlaceholderValues(contents: Node | null): PlaceholderHit[] {
  const hits: PlaceholderHit[] = [];
  const walk = (node: Node | null | undefined, path: (string | number)[]) => {
    if (!node) return;
    if (isScalar(node)) {
      if (typeof node.value === 'string' && isPlaceholderText(node.value))
        hits.push({ path, text: node.value, node });
    } else if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        if (FREE_TEXT.has(key)) continue;
        if (isScalar(pair.key) && isPlaceholderText(key))
          hits.push({ path: [...path, key], text: key, node: pair.key });
        walk(pair.value as Node | null, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item as Node, [...path, i]);
      });
    }
  };
  walk(contents, []);
  return hits;
}
