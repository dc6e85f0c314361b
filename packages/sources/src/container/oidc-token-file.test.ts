import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startOidcTokenFile } from './oidc-token-file.js';

const silent = { warn: () => {} };

describe('startOidcTokenFile', () => {
  it('writes the bare token to a file only its owner reads, follows a renewed token, and removes it on close', async () => {
    let token = 'eyJ.first';
    const file = await startOidcTokenFile(() => `Bearer ${token}`, silent, 20);
    try {
      expect(readFileSync(file.path, 'utf8')).toBe('eyJ.first');
      expect(statSync(file.path).mode & 0o777).toBe(0o600);
      token = 'eyJ.renewed';
      const deadline = Date.now() + 2_000;
      while (readFileSync(file.path, 'utf8') !== 'eyJ.renewed' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(readFileSync(file.path, 'utf8')).toBe('eyJ.renewed');
    } finally {
      await file.close();
    }
    expect(existsSync(file.path)).toBe(false);
  });

  it('fails to start, leaving nothing behind, when no token can be had', async () => {
    await expect(
      startOidcTokenFile(async () => {
        throw new Error('no signing key');
      }, silent),
    ).rejects.toThrow('no signing key');
  });
});
