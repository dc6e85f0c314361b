// The process's terminal as `eddy replay` uses it (commands/replay-wait.ts's ReplayTerminal): a line
// redrawn in place on stderr, and a question on stdin/stderr.

import { createInterface } from 'node:readline/promises';
import type { ReplayTerminal } from './commands/replay-wait.js';

const ERASE_LINE = '\r\x1b[2K';

export function processTerminal(): ReplayTerminal {
  const tty = process.stderr.isTTY === true;
  let drawn = false;
  return {
    tty,
    interactive: tty && process.stdin.isTTY === true,
    get columns() {
      return process.stderr.columns ?? 80;
    },
    draw(line) {
      process.stderr.write(`${ERASE_LINE}${line}`);
      drawn = true;
    },
    clear() {
      if (drawn) process.stderr.write(ERASE_LINE);
      drawn = false;
    },
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      // The terminal is raw while asking, so Ctrl-C reaches readline, not the process: it means "no".
      const noAnswer = new AbortController();
      rl.once('SIGINT', () => noAnswer.abort());
      try {
        return await rl.question(question, { signal: noAnswer.signal });
      } catch {
        return '';
      } finally {
        rl.close();
      }
    },
  };
}
