// The TCP ports a process listens on, from /proc: how a test (or the soak bench) finds a child
// process's /metrics when the process chose a free port and only its logs say which.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The TCP ports `pid` listens on: its socket inodes matched against /proc/net/tcp{,6} LISTEN rows. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      } catch {}
    }
  } catch {
    return [];
  }
  const ports = new Set<number>();
  // f[1] local address:port (hex), f[3] state (0A = LISTEN), f[9] inode.
  for (const f of tcpSocketRows())
    if (f[3] === '0A' && f[9] && inodes.has(f[9])) ports.add(Number.parseInt(f[1]?.split(':')[1] ?? '', 16));
  return [...ports].sort((a, b) => a - b);
}

/** Every row of /proc/net/tcp and /proc/net/tcp6 (headers left out), split into its fields. */
export function tcpSocketRows(): string[][] {
  const rows: string[][] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) if (line.trim()) rows.push(line.trim().split(/\s+/));
  }
  return rows;
}
