import { isMap, isScalar, isSeq, type LineCounter, type Node, type ParsedNode } from 'yaml';
import type { FieldPath } from './field-path.js';

export interface Position {
  line: number;
  column: number;
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

/**
 * Finds where `path` is in a parsed YAML document. `at: 'key'` points at the field's key (`spec:`);
 * `at: 'value'` points at a scalar value, or at the key of a map or list value (the line a reader
 * looks at). When the path does not exist (a missing field), points at the deepest existing ancestor's key.
 */
export function locate(
  contents: ParsedNode | null,
  path: FieldPath,
  at: 'key' | 'value',
  lineCounter: LineCounter,
  fallback: Position,
): Position {
  let node: Node | null | undefined = contents;
  let key: Node | undefined;
  let found = 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      key = undefined;
      node = item;
    } else break;
    found++;
  }
  let target: Node | null | undefined;
  if (found < path.length) target = key ?? node;
  else if (at === 'key') target = key ?? node;
  else target = isScalar(node) || !key ? (node ?? key) : key;
  const offset = target?.range?.[0];
  if (offset === undefined) return fallback;
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
