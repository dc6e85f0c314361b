// No orphans: replicas (and what they forked) must not outlive an Eddy process that is SIGKILLed
// and so never runs close(). A real parent process holds a runtime with two ready replicas, each
// with a forked child; the test SIGKILLs the parent and expects all four processes gone.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive, tcpReadiness } from '../testing/processes.js';
import { waitFor } from '../testing/wait.js';
import { createProcessRuntime } from './process-runtime.js';

describe('replica reaper', () => {
  it('stops every replica process group within a few seconds when the runtime holder is SIGKILLed', async () => {
    const holder = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/runtime-holder.mjs', import.meta.url)), '2'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    holder.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    let pids: number[] = [];
    let reaper = 0;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: holder.stdout }).once('line', resolve);
        holder.once('exit', (code) => reject(new Error(`runtime holder exited early (${code}): ${stderr}`)));
      });
      ({ pids, reaper } = JSON.parse(line) as { pids: number[]; reaper: number });
      expect(pids).toHaveLength(4);
      for (const pid of [...pids, reaper]) expect(isAlive(pid), `pid ${pid} before the kill`).toBe(true);

      holder.kill('SIGKILL');
      await waitFor(
        'the replica processes to die with their SIGKILLed parent',
        () => !pids.some(isAlive),
        8000,
      );
      expect(
        pids.filter(isAlive),
        'replica processes still running after their parent was SIGKILLed',
      ).toEqual([]);
      await waitFor('the reaper to exit', () => !isAlive(reaper), 8000);
      expect(isAlive(reaper), 'the reaper exits once its work is done').toBe(false);
    } finally {
      holder.kill('SIGKILL');
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('exits with the runtime on close()', async () => {
    const runtime = createProcessRuntime();
    const deployment = runtime.deploy({
      namespace: 'default',
      revision: 'reaper-00001',
      configuration: 'reaper',
      command: [process.execPath, fileURLToPath(new URL('./fixtures/tcp-app.mjs', import.meta.url))],
      args: [],
      env: {},
      readiness: tcpReadiness,
      terminationGraceMs: 5000,
    });
    expect(runtime.reaperPid).toBeUndefined();
    deployment.scale(1);
    await waitFor('ready', () => deployment.status().ready >= 1);
    const reaper = runtime.reaperPid ?? 0;
    expect(isAlive(reaper)).toBe(true);
    await runtime.close();
    expect(isAlive(reaper)).toBe(false);
    expect(() => runtime.deploy(deployment.spec)).toThrow(/process runtime is closed/);
  });
});
