// Shared by the peers' tests: a peer must not outlive a test process that dies without cleaning
// up (kill -9, a crashed worker). The check starts the peer from a child Node process, SIGKILLs
// that child, and expects the peer's process to be gone within `withinMs`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { isAlive, sleep } from './processes.ts';

export interface OrphanCheck {
  /** Module (file URL) that exports the start function. */
  module: string;
  /** Named export to import from it. */
  start: string;
  /** Expression, given the started peer as `peer`, that yields the pid to watch. */
  pidOf: string;
  /** For messages: e.g. `Kafka`. */
  what: string;
  withinMs: number;
}

export async function expectPeerDiesWithParent(check: OrphanCheck): Promise<void> {
  const script = [
    `import { ${check.start} } from ${JSON.stringify(check.module)};`,
    `const peer = await ${check.start}({ log: () => {} });`,
    `console.log(JSON.stringify({ pid: ${check.pidOf} }));`,
    'setInterval(() => {}, 1 << 30);',
  ].join('\n');
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pid = 0;
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', resolve);
      parent.once('exit', (code) =>
        reject(new Error(`the ${check.what}-starting process exited early (${code})`)),
      );
    });
    pid = (JSON.parse(first) as { pid: number }).pid;
    expect(isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + check.withinMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    expect(isAlive(pid), `${check.what} (pid ${pid}) outlived its SIGKILLed parent`).toBe(false);
  } finally {
    parent.kill('SIGKILL');
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}
