import { describe, expect, it } from 'vitest';
import { childName } from './child-name.js';

describe('childName (kmeta.ChildName)', () => {
  it('concatenates when it fits', () => {
    expect(childName('hello', '-00001')).toBe('hello-00001');
  });
  it('cuts a long parent and keeps it unique with an MD5 of the parent', () => {
    const name = childName('a'.repeat(70), '-00001');
    expect(name).toHaveLength(63);
    expect(name.startsWith('a'.repeat(63 - 32 - 6))).toBe(true);
    expect(name.endsWith('-00001')).toBe(true);
    expect(childName(`${'a'.repeat(69)}b`, '-00001')).not.toBe(name);
  });
  it('a suffix over 31 characters is cut too, the MD5 covering both', () => {
    const suffix = '-oidc-sources.knative.dev-pingsource';
    const name = childName('p'.repeat(60), suffix);
    expect(name).toHaveLength(63);
    expect(name.startsWith('p'.repeat(31))).toBe(true);
    expect(childName(`${'p'.repeat(59)}q`, suffix)).not.toBe(name);
  });
});
