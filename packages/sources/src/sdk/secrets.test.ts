import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEnvSecretResolver, secretEnvName } from './secrets.js';

describe('embedded secret resolver', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eddy-secrets-'));
    await mkdir(join(dir, 'demo', 'github'), { recursive: true });
    await writeFile(join(dir, 'demo', 'github', 'webhook-secret'), 'from-file\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads EDDY_SECRET_<NAME>_<KEY> first, then <dir>/<namespace>/<name>/<key>', async () => {
    expect(secretEnvName('github-token', 'token')).toBe('EDDY_SECRET_GITHUB_TOKEN_TOKEN');
    const secrets = createEnvSecretResolver({
      namespace: 'demo',
      env: { EDDY_SECRET_GITHUB_ACCESS_TOKEN: 'from-env' },
      dirs: [join(dir, 'missing'), dir],
    });
    expect(await secrets.resolve({ secretKeyRef: { name: 'github', key: 'access.token' } })).toBe('from-env');
    expect(await secrets.resolve({ name: 'github', key: 'webhook-secret' })).toBe('from-file');
  });

  it('returns undefined for a missing optional secret and says where it looked for a required one', async () => {
    const secrets = createEnvSecretResolver({ namespace: 'demo', env: {}, dirs: [dir] });
    expect(await secrets.resolve({ name: 'nope', key: 'k', optional: true })).toBeUndefined();
    await expect(secrets.resolve({ name: 'nope', key: 'k' })).rejects.toThrow(
      /secret demo\/nope key k not found \(looked for environment variable EDDY_SECRET_NOPE_K, file .*demo\/nope\/k\)/,
    );
    await expect(secrets.resolve({ name: '..', key: 'github' })).rejects.toThrow(
      /looked for environment variable [^,]*\)$/,
    );
    await expect(secrets.resolve(undefined)).rejects.toThrow(/no secretKeyRef given/);
  });
});
