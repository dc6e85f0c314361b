import type { DataPlaneContract } from './data-plane-contract.js';

/**
 * Structural equality of plain data: key order does not matter and a key holding `undefined` counts as
 * absent (a contract read back from JSON has no such keys).
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** Whether two contracts say the same thing, whatever their generations. */
export function sameContractContent(a: DataPlaneContract, b: DataPlaneContract): boolean {
  return (
    deepEqual(a.brokers, b.brokers) &&
    deepEqual(a.channels, b.channels) &&
    deepEqual(a.routes, b.routes) &&
    deepEqual(a.replays ?? [], b.replays ?? []) &&
    deepEqual(a.kafkaSinks ?? [], b.kafkaSinks ?? [])
  );
}
