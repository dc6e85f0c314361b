import { UsageError } from '@eddy/runtime';
import { describe, expect, it } from 'vitest';
import { dispatcherUsage, parseDispatcherArgs } from './dispatcher-main.js';

const BASE = [
  '--contract',
  'http://127.0.0.1:9000/v1/contract/broker',
  '--log',
  'kafka',
  '--brokers',
  'k:9092',
];
const ROUTER = [
  '--router-primary',
  'http://127.0.0.1:9101',
  '--router-contract',
  'http://127.0.0.1:9000/v1/contract/serving',
  '--router-origin',
  'http://127.0.0.1:8081',
];

const usageError = (argv: string[], env: Record<string, string> = {}) => {
  try {
    parseDispatcherArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
};

describe('eddy dispatcher: the dispatcher, and a serving router with --router-primary', () => {
  it('is the broker dispatcher alone without --router-primary', () => {
    const o = parseDispatcherArgs([...BASE, '--member-id', 'dispatcher-1']);
    expect(o.router).toBeUndefined();
    expect(o.dispatcher).toMatchObject({ component: 'dispatcher', memberId: 'dispatcher-1', log: 'kafka' });
  });

  it('takes the --router-* flags apart from the dispatcher flags, in either form, and from the environment', () => {
    const o = parseDispatcherArgs([...BASE, ...ROUTER, '--router-probe-port=9102', '--port', '0']);
    expect(o.dispatcher).toMatchObject({ component: 'dispatcher', port: 0, brokers: ['k:9092'] });
    expect(o.router).toEqual({
      primary: 'http://127.0.0.1:9101',
      contract: 'http://127.0.0.1:9000/v1/contract/serving',
      origin: 'http://127.0.0.1:8081',
      probePort: 9102,
      pushIntervalMs: 1000,
    });
    const fromEnv = parseDispatcherArgs(BASE, {
      EDDY_DISPATCHER_ROUTER_PRIMARY: 'https://127.0.0.1:9101',
      EDDY_DISPATCHER_ROUTER_CONTRACT: 'c.json',
      EDDY_DISPATCHER_ROUTER_ORIGIN: 'https://127.0.0.1:8443/ignored/path',
      EDDY_DISPATCHER_ROUTER_TLS_CERT: 'tls.crt',
      EDDY_DISPATCHER_ROUTER_TLS_KEY: 'tls.key',
    });
    expect(fromEnv.router).toMatchObject({
      origin: 'https://127.0.0.1:8443',
      tls: { cert: 'tls.crt', key: 'tls.key' },
    });
  });

  it('names the flag that is wrong or missing', () => {
    expect(usageError([...BASE, '--router-origin', 'http://r:1'])).toBe(
      '--router-origin needs --router-primary <url>',
    );
    expect(usageError(BASE, { EDDY_DISPATCHER_ROUTER_CONTRACT: 'c.json' })).toBe(
      'EDDY_DISPATCHER_ROUTER_CONTRACT needs --router-primary <url>',
    );
    expect(usageError([...BASE, '--router-primary', 'http://p:1', '--router-origin', 'http://r:1'])).toBe(
      '--router-primary needs --router-contract <file|url>',
    );
    expect(usageError([...BASE, '--router-primary', 'http://p:1', '--router-contract', 'c.json'])).toBe(
      '--router-primary needs --router-origin <url>',
    );
    expect(usageError([...BASE, ...ROUTER.slice(2), '--router-primary', 'p:1'])).toBe(
      '--router-primary must be an http(s) URL, got "p:1"',
    );
    expect(usageError([...BASE, ...ROUTER.slice(0, 4), '--router-origin', '127.0.0.1:8081'])).toBe(
      '--router-origin must be an http(s) URL, got "127.0.0.1:8081"',
    );
    expect(usageError([...BASE, ...ROUTER, '--router-probe-port', '70000'])).toBe(
      '--router-probe-port must be an integer from 0 to 65535, got "70000"',
    );
    expect(usageError([...BASE, ...ROUTER, '--router-tls-cert', 'tls.crt'])).toBe(
      '--router-tls-cert and --router-tls-key go together: give both',
    );
    // The dispatcher's own flags are checked as `eddy dispatcher` always checked them.
    expect(usageError([...BASE, ...ROUTER, '--port', 'x'])).toBe(
      '--port must be an integer from 0 to 65535, got "x"',
    );
    expect(usageError([...BASE, '--router-nope', '1'])).toMatch(/--router-nope/);
  });

  it('lists the router flags after the dispatcher flags in its usage', () => {
    const text = dispatcherUsage();
    expect(text).toMatch(/^usage: eddy dispatcher --contract/);
    expect(text).toMatch(
      /\n {2}--router-primary <url> +EDDY_DISPATCHER_ROUTER_PRIMARY +run a serving router/,
    );
    expect(text.match(/--help/g)).toHaveLength(1);
  });
});
