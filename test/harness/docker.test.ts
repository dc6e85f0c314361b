import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ensureJreBaseImage, peerBackend, shellQuote, sweepStaleContainers } from './docker.ts';

const { backend, why } = peerBackend();

describe('shellQuote', () => {
  it('passes every argument through sh -c unchanged', () => {
    const args = ["it's", 'a b', '$HOME', '"q"', '`x`', '', '\\n'];
    const res = spawnSync('sh', ['-c', `printf '%s\\n' ${shellQuote(args)}`], { encoding: 'utf8' });
    expect(res.stdout).toBe(`${args.join('\n')}\n`);
  });
});

describe('containers of the harness', () => {
  if (backend !== 'docker') {
    it.skip(`need Docker (${why})`, () => {});
    return;
  }

  it('are swept when their owner process is gone, and kept while it lives', {
    timeout: 120_000,
  }, async () => {
    const image = await ensureJreBaseImage(() => {});
    // A pid above the kernel's pid_max belongs to no process.
    const deadOwner = '4194305';
    const run = (owner: string) => {
      const res = spawnSync(
        'docker',
        [
          'run',
          '-d',
          '--label',
          'dev.eddy.test=sweep-test',
          '--label',
          `dev.eddy.test.owner-pid=${owner}`,
          image,
          'sleep',
          '300',
        ],
        { encoding: 'utf8' },
      );
      expect(res.status, res.stderr).toBe(0);
      return res.stdout.trim();
    };
    const exists = (id: string) => spawnSync('docker', ['inspect', id]).status === 0;
    const orphan = run(deadOwner);
    const ours = run(String(process.pid));
    try {
      sweepStaleContainers();
      expect(exists(orphan)).toBe(false);
      expect(exists(ours)).toBe(true);
    } finally {
      spawnSync('docker', ['rm', '--force', orphan, ours]);
    }
  });
});
