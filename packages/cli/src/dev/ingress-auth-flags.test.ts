import { describe, expect, it } from 'vitest';
import { UsageError } from '../usage-error.js';
import { senderAuthFromFlags } from './ingress-auth-flags.js';

describe('--ingress-auth / --oidc-issuer', () => {
  it('turn into the reconciler options', () => {
    expect(senderAuthFromFlags({})).toBeUndefined();
    expect(senderAuthFromFlags({ ingressAuth: 'off', oidcIssuer: [] })).toEqual({ issuers: [] });
    expect(
      senderAuthFromFlags({ ingressAuth: 'required', oidcIssuer: ['https://issuer.example/x'] }),
    ).toEqual({
      required: true,
      issuers: [{ issuer: 'https://issuer.example/x' }],
    });
  });

  it('name the flag of a bad value', () => {
    expect(() => senderAuthFromFlags({ ingressAuth: 'on' })).toThrow(
      new UsageError('--ingress-auth must be "off" or "required", got "on"'),
    );
    expect(() => senderAuthFromFlags({ oidcIssuer: ['issuer.example'] })).toThrow(
      /--oidc-issuer must be an http\(s\) URL, got "issuer.example"/,
    );
    expect(() => senderAuthFromFlags({ oidcIssuer: ['ftp://issuer.example'] })).toThrow(UsageError);
  });
});
