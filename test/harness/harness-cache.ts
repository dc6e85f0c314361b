// The git-ignored cache under .cache/<peer>/ where the harness keeps what it downloads or builds,
// and the per-run log folders of the peers it starts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, sleep } from './processes.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** `.cache/<peer>` in the repository, or the folder named by the environment variable `envVar`. */
export function peerCacheRoot(peer: string, envVar: string): string {
  const fromEnv = process.env[envVar];
  return fromEnv ? resolve(fromEnv) : join(REPO_ROOT, '.cache', peer);
}

/** The peer version to use: the environment variable `envVar` when set, else `fallback`. */
export function peerVersion(envVar: string, fallback: string): string {
  const version = process.env[envVar] ?? fallback;
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`${envVar} must look like ${fallback}, got ${JSON.stringify(version)}`);
  }
  return version;
}

/**
 * A directory lock (mkdir is atomic) so two test runs started at once do not both download or
 * build the same thing; a lock whose owner process is gone, or that is older than 15 minutes, is
 * taken over. `doing` completes the progress line "waiting for another process that is ...".
 */
export async function withDirLock<T>(
  lockDir: string,
  doing: string,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const staleMs = 15 * 60_000;
  let announcedAt = 0;
  let lastProgress = 0;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'owner'), `${process.pid}\n`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let ownerPid = 0;
      let age = 0;
      try {
        ownerPid = Number.parseInt(readFileSync(join(lockDir, 'owner'), 'utf8'), 10);
        age = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        // The owner is between mkdir and writing its pid, or just released the lock: look again.
      }
      if ((ownerPid > 0 && !isAlive(ownerPid)) || age > staleMs) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (announcedAt === 0) {
        log(`waiting for another process (pid ${ownerPid || '?'}) that is ${doing} (${lockDir})`);
        announcedAt = Date.now();
        lastProgress = announcedAt;
      } else if (Date.now() - lastProgress >= 25_000) {
        // A long build by another run (minutes for the Kubernetes tools) must not look stuck.
        lastProgress = Date.now();
        log(
          `still waiting for pid ${ownerPid || '?'} that is ${doing}: ${Math.round((lastProgress - announcedAt) / 1000)} s so far`,
        );
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Keeps the newest `keep` run folders under `logsRoot` so logs of recent runs stay readable. */
export function pruneOldLogs(logsRoot: string, keep: number): void {
  try {
    const runs = readdirSync(logsRoot)
      .map((name) => ({ name, mtime: statSync(join(logsRoot, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const run of runs.slice(keep)) {
      // A run that is still going may read its configs from there again (Kafka node restarts).
      const owner = /-(\d+)-[0-9a-f]{4}$/.exec(run.name);
      if (owner && isAlive(Number(owner[1]))) continue;
      rmSync(join(logsRoot, run.name), { recursive: true, force: true });
    }
  } catch {}
}

/**
 * A fresh `<logsRoot>/<time>-<pid>-<random>` folder for one run's logs and generated configs,
 * after removing all but the 20 newest older ones.
 */
export function newRunLogDir(logsRoot: string, keep = 20): string {
  pruneOldLogs(logsRoot, keep - 1);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(logsRoot, `${stamp}-${process.pid}-${randomBytes(2).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Removes the `<tmpdir>/<prefix>*` data folders of test processes that died without cleaning up: each
 * holds its owner's pid in `owner.pid`, and a folder whose owner is gone is removed.
 */
export function sweepStaleDataDirs(prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(prefix));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    try {
      const owner = Number.parseInt(readFileSync(join(dir, 'owner.pid'), 'utf8'), 10);
      if (owner > 0 && !isAlive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
}
