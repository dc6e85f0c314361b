// What /proc says about a process: resident memory, CPU time, open descriptors, children, and the TCP
// ports it listens on (how the sampler finds each component's /metrics without being told; the
// tests' helper).
import { readdirSync, readFileSync } from 'node:fs';

export { listeningPorts } from '../../test/harness/listening-ports.ts';

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
  /** utime + stime, clock ticks. */
  cpuTicks: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux Node runs on). */
const TICKS_PER_SECOND = 100;

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields start after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    // After ')': state ppid ... utime (index 11) stime (index 12).
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** CPU time the process used so far (user + system), seconds; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  const s = stat(pid);
  return s ? s.cpuTicks / TICKS_PER_SECOND : Number.NaN;
}

/** CPU time every core spent busy (user, nice, system, irq, softirq, steal) since boot, seconds (/proc/stat). */
export function machineBusySeconds(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
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
