import { describe, expect, it } from 'vitest';
import { requestTimeoutServer } from './request-timeout.js';

describe('requestTimeoutServer', () => {
  it('makes servers with the request deadline, checked often enough to cut near it', () => {
    const server = requestTimeoutServer(1_000)(() => {});
    expect(server.requestTimeout).toBe(1_000);
    expect(server.headersTimeout).toBe(1_000);
    const long = requestTimeoutServer(120_000)(() => {});
    expect(long.requestTimeout).toBe(120_000);
    expect(long.headersTimeout).toBe(60_000);
  });

  it('refuses a deadline that is not a positive integer, naming it', () => {
    expect(() => requestTimeoutServer(0)).toThrow('requestTimeoutMs must be a positive integer, got 0');
    expect(() => requestTimeoutServer(1.5)).toThrow(RangeError);
  });
});
