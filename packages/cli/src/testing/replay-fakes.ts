// What the tests of `eddy replay` share: a terminal that records what it was shown and asked, and
// Replay statuses as the control plane writes them (ReplayStatus of @eddy/api).

import type { ReplayTerminal } from '../commands/replay-wait.js';
import type { ReplayStatusView } from '../format/replay-progress.js';

export interface FakeTerminal extends ReplayTerminal {
  drawn: string[];
  asked: string[];
  cleared: number;
}

/** A terminal that records what was drawn and asked, and answers `answer`. */
export function fakeTerminal(tty: boolean, interactive = tty, answer = ''): FakeTerminal {
  const t: FakeTerminal = {
    tty,
    interactive,
    columns: 60,
    drawn: [],
    asked: [],
    cleared: 0,
    draw: (line) => t.drawn.push(line),
    clear: () => {
      t.cleared++;
    },
    ask: async (question) => {
      t.asked.push(question);
      return answer;
    },
  };
  return t;
}

export const cond = (status: 'True' | 'False' | 'Unknown', reason: string, message?: string) => [
  { type: 'Ready', status: status === 'False' ? 'False' : 'True', reason },
  { type: 'Succeeded', status, reason, ...(message ? { message } : {}) },
];

/** 1000 events in one partition, `done` of them replayed. */
export const runningStatus = (done: number): ReplayStatusView => ({
  observedGeneration: 1,
  conditions: cond('Unknown', 'Running') as ReplayStatusView['conditions'],
  matched: done,
  delivered: done,
  deadLettered: 0,
  failed: 0,
  skipped: 0,
  total: 1000,
  progress: [{ partition: 0, offset: done, end: 1000 }],
  startTime: '2026-12-06T10:00:00Z',
});

export const finishedStatus = (ok: boolean, message?: string): ReplayStatusView => ({
  ...runningStatus(1000),
  conditions: cond(
    ok ? 'True' : 'False',
    ok ? 'Completed' : 'Failed',
    message,
  ) as ReplayStatusView['conditions'],
  completionTime: '2026-12-06T10:00:04Z',
});
