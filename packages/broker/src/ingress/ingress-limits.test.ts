import { DEFAULT_REQUEST_TIMEOUT_MS } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BATCH_EVENTS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES } from './ingress.js';
import { INGRESS_LIMIT_FLAGS, ingressLimitArgs, ingressLimitsFrom } from './ingress-limits.js';

describe('ingress limit flags', () => {
  it("a parent's limits reach its ingress processes as the same flags, and only those given", () => {
    const limits = { maxBodyBytes: 4096, requestTimeoutMs: 2000 };
    const args = ingressLimitArgs(limits);
    expect(args).toEqual(['--ingress-max-body-bytes', '4096', '--ingress-request-timeout-ms', '2000']);
    const given = new Map<string, string>();
    for (let i = 0; i < args.length; i += 2) given.set(args[i]!.slice(2), args[i + 1]!);
    expect(
      ingressLimitsFrom((spec) => (given.has(spec.flag) ? Number(given.get(spec.flag)) : undefined)),
    ).toEqual(limits);
    expect(ingressLimitArgs({})).toEqual([]);
  });

  it("says the ingress's own defaults, inside each flag's bounds", () => {
    const defaults = {
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxBatchEvents: DEFAULT_MAX_BATCH_EVENTS,
      maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    };
    for (const spec of INGRESS_LIMIT_FLAGS) {
      const fallback = defaults[spec.key];
      expect(spec.help).toContain(`(default ${fallback}`);
      expect(fallback).toBeGreaterThanOrEqual(spec.min);
      expect(fallback).toBeLessThanOrEqual(spec.max);
    }
  });
});
