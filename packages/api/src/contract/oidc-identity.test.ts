import { describe, expect, it } from 'vitest';
import { apiGroup, oidcAudience, oidcServiceAccountName, serviceAccountSubject } from './oidc-identity.js';

describe('Knative OIDC names', () => {
  it('audiences are group/kind/namespace/name, lower-cased', () => {
    expect(oidcAudience('eventing.knative.dev', 'Broker', 'default', 'My-B')).toBe(
      'eventing.knative.dev/broker/default/my-b',
    );
  });
  it('service accounts are <name>-oidc-<group>-<kind>, cut with a hash when too long', () => {
    expect(oidcServiceAccountName('sources.knative.dev', 'PingSource', 'ping')).toBe(
      'ping-oidc-sources.knative.dev-pingsource',
    );
    const long = oidcServiceAccountName('sources.knative.dev', 'PingSource', 'p'.repeat(60));
    expect(long.length).toBe(63);
    expect(long.startsWith('p'.repeat(31))).toBe(true);
    expect(long).not.toBe(oidcServiceAccountName('sources.knative.dev', 'PingSource', `${'p'.repeat(59)}q`));
  });
  it('subjects and groups', () => {
    expect(serviceAccountSubject('ns', 'sa')).toBe('system:serviceaccount:ns:sa');
    expect(apiGroup('sources.knative.dev/v1')).toBe('sources.knative.dev');
    expect(apiGroup('v1')).toBe('');
  });
});
