// A serving process prints what its replicas print as JSON log lines (the process's stdout is JSON
// lines, pino's), marked with a `replicaOutput` field; the supervisor that runs the process (eddy dev)
// recognises them with replicaOutputOf and shows them as the services' output (`<revision> | <line>`).

import type { ReplicaOutputLine } from '../runtime/process-runtime.js';

const FIELD = 'replicaOutput';

/** The log line for one line a replica printed (always printed, whatever the log level). */
export function replicaOutputLogLine(line: ReplicaOutputLine): string {
  const { namespace, revision, replica, stream } = line;
  return `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, [FIELD]: { namespace, revision, replica, stream }, msg: line.line })}\n`;
}

/** The replica's line, when `logLine` is one a serving process printed for it. */
export function replicaOutputOf(logLine: string): ReplicaOutputLine | undefined {
  if (!logLine.includes(`"${FIELD}"`)) return undefined;
  let entry: { msg?: unknown; [FIELD]?: Partial<ReplicaOutputLine> };
  try {
    entry = JSON.parse(logLine);
  } catch {
    return undefined;
  }
  const from = entry[FIELD];
  if (!from || typeof entry.msg !== 'string') return undefined;
  const { namespace, revision, replica, stream } = from;
  if (typeof namespace !== 'string' || typeof revision !== 'string' || typeof replica !== 'string')
    return undefined;
  return { namespace, revision, replica, stream: stream === 'stderr' ? 'stderr' : 'stdout', line: entry.msg };
}
