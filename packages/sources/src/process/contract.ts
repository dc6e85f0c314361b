// The sources component's contract: what the control plane hands an `eddy sources` process (as a
// file or through its contract feed), and what the process reports back. A data-plane process never
// reads the resource store or Kubernetes, so the Secret and ConfigMap values its sources refer to
// (secretKeyRef / configMapKeyRef) travel with the definitions: only the referenced keys, resolved
// the way the control plane planned them (its environment first, then its Secret/ConfigMap objects).

import {
  type DataValues,
  findKeyRefs,
  lookupKeyRef,
  type ValueLookupOptions,
  type ValueStore,
} from '@eddy/api';
import type { ReportedCounter } from '@eddy/runtime';
import type { SourceDefinition } from '../sdk/adapter.js';
import { type SourceStatus, sourceKey } from '../sdk/runner.js';

/** Referenced values by object (`<namespace>/<name>`), then key; UTF-8 text as the lookup gives it. */
export type ContractValueObjects = Record<string, Record<string, string>>;

export interface SourcesContractValues {
  secrets: ContractValueObjects;
  configMaps: ContractValueObjects;
}

export interface SourcesContract {
  /** Rises with every change; a process ignores a contract not newer than the one it runs. */
  generation: number;
  /** One per source to run; a source missing from it is stopped. */
  sources: SourceDefinition[];
  values: SourcesContractValues;
}

/** What an `eddy sources` process reports to its feed (MemberReport.status), when it changes. */
export interface SourcesProcessStatus {
  /** Which member of the sources component it is, `<index>/<count>` (`0/1` when alone). */
  shard?: string;
  /**
   * Every source of the contract it runs (those placed on it, control/placement.ts), including those
   * it refused (Ready False, InvalidSource).
   */
  sources: SourceStatus[];
  /** Its delivery counters (eddy_source_events_delivered_total), for a control plane's rates. */
  counters?: ReportedCounter[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80));

function checkValueObjects(objects: unknown, field: string): void {
  if (!isObject(objects))
    throw new TypeError(
      `sources contract: "${field}" must be an object of "<namespace>/<name>": {key: value}`,
    );
  for (const [object, keys] of Object.entries(objects)) {
    const at = `${field}["${object}"]`;
    if (!/^[^/]+\/[^/]+$/.test(object))
      throw new TypeError(`sources contract: ${at}: the name must be "<namespace>/<name>"`);
    if (!isObject(keys)) throw new TypeError(`sources contract: ${at} must be an object of key: value`);
    for (const [key, value] of Object.entries(keys))
      if (typeof value !== 'string')
        throw new TypeError(`sources contract: ${at}.${key} must be a string, found ${show(value)}`);
  }
}

/**
 * Checks the shape of a sources contract; throws naming the bad field. Each definition's kind and
 * spec are the runner's to check (a refused source does not stop the others).
 */
export function checkSourcesContract(value: unknown): asserts value is SourcesContract {
  if (!isObject(value))
    throw new TypeError('sources contract: expected an object with generation, sources, values');
  if (!Number.isSafeInteger(value.generation) || (value.generation as number) < 0)
    throw new TypeError(
      `sources contract: "generation" must be an integer >= 0, found ${show(value.generation)}`,
    );
  if (!Array.isArray(value.sources))
    throw new TypeError(`sources contract: "sources" must be an array, found ${show(value.sources)}`);
  const keys = new Set<string>();
  for (const [i, source] of value.sources.entries()) {
    if (!isObject(source)) throw new TypeError(`sources contract: sources[${i}] must be an object`);
    for (const field of ['apiVersion', 'kind', 'namespace', 'name', 'sink'] as const)
      if (typeof source[field] !== 'string' || source[field] === '')
        throw new TypeError(
          `sources contract: sources[${i}].${field} must be a non-empty string, found ${show(source[field])}`,
        );
    const key = sourceKey(source as unknown as SourceDefinition);
    if (keys.has(key)) throw new TypeError(`sources contract: sources[${i}]: ${key} is listed twice`);
    keys.add(key);
  }
  if (!isObject(value.values))
    throw new TypeError(
      `sources contract: "values" must be an object {secrets, configMaps}, found ${show(value.values)}`,
    );
  checkValueObjects(value.values.secrets, 'values.secrets');
  checkValueObjects(value.values.configMaps, 'values.configMaps');
}

/**
 * The values `sources` refer to, looked up as the control plane planned them (`lookup`: its
 * environment, then its objects); a reference that resolves to nothing is left out (the process then
 * reports it missing, naming where it looked).
 */
export function referencedValues(
  sources: readonly SourceDefinition[],
  lookup: ValueLookupOptions,
): SourcesContractValues {
  const values: SourcesContractValues = { secrets: {}, configMaps: {} };
  for (const source of sources)
    for (const ref of findKeyRefs(source.spec)) {
      const found = lookupKeyRef(ref, source.namespace, lookup);
      if (!found.found) continue;
      const objects = ref.source === 'Secret' ? values.secrets : values.configMaps;
      const object = `${source.namespace}/${ref.name}`;
      objects[object] = { ...objects[object], [ref.key]: found.value };
    }
  return values;
}

/** A ValueStore over a contract's values; `set()` swaps them when a new contract comes. */
export function contractValueStore(): ValueStore & { set(values: SourcesContractValues): void } {
  let current: SourcesContractValues = { secrets: {}, configMaps: {} };
  const data = (objects: ContractValueObjects, namespace: string, name: string): DataValues | undefined => {
    const keys = objects[`${namespace}/${name}`];
    return keys && new Map(Object.entries(keys).map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
  };
  return {
    set(values) {
      current = values;
    },
    secret: (namespace, name) => data(current.secrets, namespace, name),
    configMap: (namespace, name) => data(current.configMaps, namespace, name),
  };
}

/** The runner statuses in a member's report, or undefined when it has sent none (or a bad one). */
export function reportedSourceStatuses(status: unknown): SourceStatus[] | undefined {
  if (!isObject(status) || !Array.isArray(status.sources)) return undefined;
  return status.sources.filter(
    (s): s is SourceStatus => isObject(s) && typeof s.key === 'string' && isObject(s.ready),
  );
}
