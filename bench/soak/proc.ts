// What /proc says about a process: resident memory, open descriptors, children, and the TCP
// ports it listens on (how the sampler finds each component's /metrics without being told).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** VmRSS, bytes; NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
  } catch {
    return Number.NaN;
  }
}

export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

interface Stat {
  ppid: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields start after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** All descendants of `root` (not root itself), with their command lines. */
export function descendants(root: number): { pid: number; cmdline: string }[] {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s) continue;
    byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), Number(entry)]);
  }
  const out: { pid: number; cmdline: string }[] = [];
  const walk = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      try {
        out.push({
          pid: child,
          cmdline: readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim(),
        });
      } catch {
        continue;
      }
      walk(child);
    }
  };
  walk(root);
  return out;
}

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
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port (hex), f[3] state (0A = LISTEN), f[9] inode.
      if (f[3] === '0A' && f[9] && inodes.has(f[9]))
        ports.add(Number.parseInt(f[1]?.split(':')[1] ?? '', 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}
