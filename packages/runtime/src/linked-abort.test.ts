import { describe, expect, it } from 'vitest';
import { LinkedAbort } from './linked-abort.js';

describe('LinkedAbort', () => {
  it('aborts with the parent reason when any parent aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const scope = new LinkedAbort([a.signal, b.signal]);
    expect(scope.signal.aborted).toBe(false);
    b.abort(new Error('stop b'));
    expect(scope.signal.aborted).toBe(true);
    expect((scope.signal.reason as Error).message).toBe('stop b');
    expect(scope.timedOut).toBe(false);
  });

  it('starts aborted when a parent already is', () => {
    const a = new AbortController();
    a.abort(new Error('gone'));
    const scope = new LinkedAbort([a.signal], 10_000);
    expect(scope.signal.aborted).toBe(true);
    expect((scope.signal.reason as Error).message).toBe('gone');
  });

  it('aborts at its deadline and says so', async () => {
    const parent = new AbortController();
    const scope = new LinkedAbort([parent.signal], 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(scope.signal.aborted).toBe(true);
    expect(scope.timedOut).toBe(true);
    expect((scope.signal.reason as Error).message).toContain('20 ms');
  });

  it('after dispose, neither parents nor the deadline abort it', async () => {
    const parent = new AbortController();
    const scope = new LinkedAbort([parent.signal], 20);
    scope.dispose();
    parent.abort();
    await new Promise((r) => setTimeout(r, 40));
    expect(scope.signal.aborted).toBe(false);
    expect(scope.timedOut).toBe(false);
  });

  it('puts one listener on a parent however many scopes follow it, and aborts every live one', () => {
    const parent = new AbortController();
    let listeners = 0;
    const add = parent.signal.addEventListener.bind(parent.signal);
    parent.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    const scopes = Array.from({ length: 100 }, () => new LinkedAbort([parent.signal]));
    for (const scope of scopes.slice(0, 50)) scope.dispose();
    expect(listeners).toBe(1);
    parent.abort(new Error('route removed'));
    expect(scopes.slice(0, 50).every((s) => !s.signal.aborted)).toBe(true);
    expect(scopes.slice(50).every((s) => (s.signal.reason as Error).message === 'route removed')).toBe(true);
  });
});
