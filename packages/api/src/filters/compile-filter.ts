// Trigger filters with Knative's three-valued result. A route's filter is compiled once (CESQL
// parsed, keys and values checked) into a closure the dispatcher calls per event; evaluation
// never throws.
//
// Semantics (knative/eventing pkg/eventfilter and the broker's filter handler):
// - a non-empty `filters` list is used and `attributes` is ignored; `filters: []` or no `filters`
//   falls back to `attributes`; neither = `nofilter` (the event is delivered).
// - `attributes`: every key must be present; a value "" means "any value" (but the attribute
//   must still be set), any other value must be equal. An empty map passes everything.
// - `exact` / `prefix` / `suffix`: every key must be present and match; a missing attribute fails.
//   An empty key or value makes the entry `nofilter` (the validator rejects those anyway).
// - `all`: Fail if any fails, else Pass if any passes, else NoFilter (NoFilter is neutral, as in
//   Knative's And). Knative's own `all` returns its last child's result when none fails, which
//   differs only for a NoFilter child after a passing one; that cannot come from a valid resource.
// - `any`: Pass if any passes, else Fail if any fails, else NoFilter (Knative's Or).
// - `not`: swaps Pass and Fail, keeps NoFilter.
// - `cesql`: Pass only when the expression yields Boolean true without an evaluation error.
// - An entry with no dialect set (or an empty `all`/`any` list) is left out, as Knative skips
//   entries it cannot materialise.
// - The dispatcher drops only `fail`: `nofilter` means "no opinion" and the event is delivered.

import { type CesqlAttributes, compileCesql } from '../cesql/compile.js';
import { CesqlCompileError } from '../cesql/errors.js';
import type { PlainEvent } from '../cloudevents/event.js';
import type { ResolvedFilter } from '../contract/data-plane-contract.js';
import type { SubscriptionsAPIFilter } from '../resources/schemas/common.js';
import { attributeString } from './attribute-value.js';

export type FilterResult = 'pass' | 'fail' | 'nofilter';
export type EventFilter = (event: PlainEvent) => FilterResult;

/** A filter that cannot be compiled (invalid CESQL); names the entry by its path. */
export class FilterCompileError extends Error {
  override readonly name = 'FilterCompileError';
}

const noFilter: EventFilter = () => 'nofilter';

/**
 * Compiles a route's filter. Throws FilterCompileError for an expression that cannot run (the
 * control plane validates CESQL first, so this means an unvalidated contract).
 */
export function compileFilter(filter: ResolvedFilter | undefined, where = 'filter'): EventFilter {
  if (filter === undefined) return noFilter;
  if (filter.filters !== undefined && filter.filters.length > 0) {
    return compileAll(compileList(filter.filters, `${where}.filters`));
  }
  if (filter.attributes !== undefined) return compileAttributes(filter.attributes);
  return noFilter;
}

function compileList(entries: readonly SubscriptionsAPIFilter[], where: string): EventFilter[] {
  const compiled: EventFilter[] = [];
  for (const [i, entry] of entries.entries()) {
    const one = compileEntry(entry, `${where}[${i}]`);
    if (one !== undefined) compiled.push(one);
  }
  return compiled;
}

/** One `filters` entry; undefined when it sets no dialect Knative would materialise. */
function compileEntry(entry: SubscriptionsAPIFilter, where: string): EventFilter | undefined {
  // Same precedence as Knative when (invalidly) several dialects are set on one entry.
  if (nonEmpty(entry.exact)) return compileMatch(entry.exact, (value, wanted) => value === wanted);
  if (nonEmpty(entry.prefix)) return compileMatch(entry.prefix, (value, wanted) => value.startsWith(wanted));
  if (nonEmpty(entry.suffix)) return compileMatch(entry.suffix, (value, wanted) => value.endsWith(wanted));
  if (entry.all !== undefined && entry.all.length > 0)
    return compileAll(compileList(entry.all, `${where}.all`));
  if (entry.any !== undefined && entry.any.length > 0)
    return compileAny(compileList(entry.any, `${where}.any`));
  if (entry.not !== undefined) return compileNot(compileEntry(entry.not, `${where}.not`));
  if (entry.cesql !== undefined && entry.cesql !== '')
    return compileCesqlFilter(entry.cesql, `${where}.cesql`);
  return undefined;
}

function nonEmpty(map: Record<string, string> | undefined): map is Record<string, string> {
  return map !== undefined && Object.keys(map).length > 0;
}

function compileMatch(
  map: Record<string, string>,
  matches: (value: string, wanted: string) => boolean,
): EventFilter {
  const pairs = Object.entries(map);
  if (pairs.some(([key, value]) => key === '' || value === '')) return noFilter;
  return (event) => {
    for (const [key, wanted] of pairs) {
      const value = attributeString(event, key);
      if (value === undefined || !matches(value, wanted)) return 'fail';
    }
    return 'pass';
  };
}

function compileAttributes(map: Record<string, string>): EventFilter {
  const pairs = Object.entries(map);
  return (event) => {
    for (const [key, wanted] of pairs) {
      const value = attributeString(event, key);
      if (value === undefined) return 'fail';
      if (wanted !== '' && value !== wanted) return 'fail';
    }
    return 'pass';
  };
}

function compileAll(children: EventFilter[]): EventFilter {
  if (children.length === 0) return noFilter;
  if (children.length === 1) return children[0]!;
  return (event) => {
    let result: FilterResult = 'nofilter';
    for (const child of children) {
      const one = child(event);
      if (one === 'fail') return 'fail';
      if (one === 'pass') result = 'pass';
    }
    return result;
  };
}

function compileAny(children: EventFilter[]): EventFilter {
  if (children.length === 0) return noFilter;
  return (event) => {
    let result: FilterResult = 'nofilter';
    for (const child of children) {
      const one = child(event);
      if (one === 'pass') return 'pass';
      if (one === 'fail') result = 'fail';
    }
    return result;
  };
}

function compileNot(child: EventFilter | undefined): EventFilter {
  if (child === undefined) return noFilter;
  return (event) => {
    const one = child(event);
    return one === 'pass' ? 'fail' : one === 'fail' ? 'pass' : 'nofilter';
  };
}

function compileCesqlFilter(expression: string, where: string): EventFilter {
  let compiled: ReturnType<typeof compileCesql>;
  try {
    compiled = compileCesql(expression);
  } catch (error) {
    if (error instanceof CesqlCompileError) {
      throw new FilterCompileError(`${where}: invalid CESQL expression: ${error.message}`);
    }
    throw error;
  }
  // The event is the attribute map itself (the engine never reads `data`): no per-event copy.
  return (event) => {
    try {
      return compiled.matches(event as unknown as CesqlAttributes) ? 'pass' : 'fail';
    } catch {
      // The engine reports errors in its result; a throw would be a bug there, and an event
      // that trips it must still not stop the route.
      return 'fail';
    }
  };
}
