import { describe, expect, it } from 'vitest';
import { errorExtensions } from './error-extensions.js';

describe('dead-letter error extensions', () => {
  it('dest always; code and base64 data of the first 1024 bytes when there was a response', () => {
    const body = Buffer.from('x'.repeat(1000) + 'y'.repeat(100));
    const ext = errorExtensions('http://sub/', { status: 503, body, headers: {} });
    expect(ext).toEqual({
      knativeerrordest: 'http://sub/',
      knativeerrorcode: '503',
      knativeerrordata: body.subarray(0, 1024).toString('base64'),
    });
    expect(errorExtensions('http://sub/', undefined)).toEqual({ knativeerrordest: 'http://sub/' });
    expect(errorExtensions('http://sub/', { status: 500, body: Buffer.alloc(0) })).toEqual({
      knativeerrordest: 'http://sub/',
      knativeerrorcode: '500',
    });
  });

  it('turns kne-<name> response headers into extensions, never overwriting attributes', () => {
    const ext = errorExtensions('http://sub/', {
      status: 422,
      headers: {
        'kne-reason': 'quota exceeded',
        'kne-id': 'forged',
        'kne-knativeerrorcode': '200',
        'kne-bad_name': 'x',
        'kne-waytoolongextensionname': 'x',
        'x-other': 'nope',
      },
    });
    expect(ext).toEqual({
      reason: 'quota exceeded',
      knativeerrordest: 'http://sub/',
      knativeerrorcode: '422',
    });
  });
});
