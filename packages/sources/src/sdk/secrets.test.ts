import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConfigMapResolver, createEnvSecretResolver, secretEnvName } from './secrets.js';

/** Secret demo/github with key webhook-secret, ConfigMap demo/settings with key level. */
const store = {
  secret: (ns: string, name: string) =>
    ns === 'demo' && name === 'github'
      ? new Map([['webhook-secret', Buffer.from('from-manifest')]])
      : undefined,
  configMap: (ns: string, name: string) =>
    ns === 'demo' && name === 'settings' ? new Map([['level', Buffer.from('debug')]]) : undefined,
};

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
      /secret demo\/nope key k not found \(looked for environment variable EDDY_SECRET_NOPE_K, then file .*demo\/nope\/k\)/,
    );
    await expect(secrets.resolve({ name: '..', key: 'github' })).rejects.toThrow(
      /looked for environment variable [^,]*\)$/,
    );
    await expect(secrets.resolve(undefined)).rejects.toThrow(/no secretKeyRef given/);
  });

  it('a Secret manifest comes after the environment (which wins) and before the files', async () => {
    const both = createEnvSecretResolver({
      namespace: 'demo',
      env: { EDDY_SECRET_GITHUB_WEBHOOK_SECRET: 'from-env' },
      store,
      dirs: [dir],
    });
    expect(await both.resolve({ name: 'github', key: 'webhook-secret' })).toBe('from-env');
    const manifestOnly = createEnvSecretResolver({ namespace: 'demo', env: {}, store, dirs: [dir] });
    expect(await manifestOnly.resolve({ name: 'github', key: 'webhook-secret' })).toBe('from-manifest');
    await expect(manifestOnly.resolve({ name: 'github', key: 'token' })).rejects.toThrow(
      /^secret demo\/github key token not found \(looked for environment variable EDDY_SECRET_GITHUB_TOKEN, then Secret demo\/github, whose keys are webhook-secret, then file .*demo\/github\/token\)$/,
    );
    await expect(manifestOnly.resolve({ name: 'other', key: 'k' })).rejects.toThrow(
      /then Secret demo\/other, which was not applied, then file/,
    );
  });

  it('configMapKeyRef: from the ConfigMap manifest; a miss names the ConfigMap and its keys', async () => {
    const configMaps = createConfigMapResolver({ namespace: 'demo', store });
    expect(await configMaps.resolve({ configMapKeyRef: { name: 'settings', key: 'level' } })).toBe('debug');
    expect(await configMaps.resolve({ name: 'settings', key: 'nope', optional: true })).toBeUndefined();
    await expect(configMaps.resolve({ name: 'settings', key: 'nope' })).rejects.toThrow(
      'configmap demo/settings key nope not found (looked for ConfigMap demo/settings, whose keys are level)',
    );
  });
});
