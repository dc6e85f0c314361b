// Class-data sharing for the JVM servers of the harness: the first JVM of a server version writes
// the classes it loaded into an archive when it exits; later JVMs map that archive instead of
// loading and verifying thousands of classes again, which roughly halves their start-up CPU.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './processes.ts';

/** An archive being written by a JVM (`partial`), to become `archive` once that JVM exits cleanly. */
export interface CdsDump {
  partial: string;
  archive: string;
}

/**
 * Where the archive of the server whose cache folder is `dir` lives. A JVM only accepts an
 * archive written by the very same JVM build, so the build is part of the name.
 */
export function cdsArchivePath(dir: string, javaVersionText: string): string {
  const build = createHash('sha256').update(javaVersionText).digest('hex').slice(0, 12);
  return join(dir, `classes-${build}.jsa`);
}

/** Archives that a process which has since died did not finish writing. */
export function sweepStaleCdsParts(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) {
      const m = /\.jsa\.partial-(\d+)$/.exec(entry);
      if (m && !isAlive(Number(m[1]))) rmSync(join(dir, entry), { force: true });
    }
  } catch {}
}

/**
 * JVM flags for one start: map the archive if there is one, otherwise write it at exit (returned
 * as `dump`, to be passed to adoptCdsDump once the JVM has exited).
 */
export function cdsFlags(archive: string): { flags: string[]; dump: CdsDump | undefined } {
  if (existsSync(archive)) return { flags: [`-XX:SharedArchiveFile=${archive}`], dump: undefined };
  const dump = { partial: `${archive}.partial-${process.pid}`, archive };
  return { flags: [`-XX:ArchiveClassesAtExit=${dump.partial}`], dump };
}

/** Publishes a finished archive by an atomic rename; a killed JVM may have left a torn file, which is discarded. */
export function adoptCdsDump(dump: CdsDump, killed: boolean): void {
  try {
    if (!killed && statSync(dump.partial).size > 0) renameSync(dump.partial, dump.archive);
  } catch {}
  rmSync(dump.partial, { force: true });
}
