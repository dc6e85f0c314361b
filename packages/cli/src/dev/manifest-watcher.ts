// Watches the `-f` paths of `eddy dev`: files, and directories (recursively) of .yaml/.yml/.json.
// fs.watch makes changes show quickly; a periodic rescan catches what it misses (editors' atomic
// renames, network file systems, files created in new subdirectories). A file counts as changed only
// when its content changed, so touching it or an editor's double write applies nothing twice.

import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface ManifestWatcher {
  /** Absolute paths of the manifest files seen in the last scan. */
  files(): string[];
  /** Rescans now (resolves once every change found was handled). */
  scan(): Promise<void>;
  close(): void;
}

export interface WatchOptions {
  /** Called for a new or changed file (text) or a file that disappeared (undefined); awaited. */
  onFile(file: string, text: string | undefined): Promise<void> | void;
  /** Problems reading a path (it is retried on the next scan). */
  onError?(path: string, message: string): void;
  /** Rescan period; default 1000 ms. */
  intervalMs?: number;
  /** Quiet time after an fs.watch event before scanning; default 100 ms. */
  debounceMs?: number;
}

/** The manifest files under `dir`, recursively (hidden entries and node_modules skipped). */
export async function collect(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await collect(p, out);
    else if (e.isFile() && MANIFEST_FILE.test(e.name)) out.push(p);
  }
}

/** Whether `file` is one of `paths` or inside one of them (for files that disappeared while not running). */
export function coveredBy(paths: readonly string[], file: string): boolean {
  return paths.some((p) => {
    const abs = resolve(p);
    return file === abs || file.startsWith(abs.endsWith(sep) ? abs : abs + sep);
  });
}

/** Starts watching; the first scan has been handled when the returned promise resolves. */
export async function watchManifests(
  paths: readonly string[],
  options: WatchOptions,
): Promise<ManifestWatcher> {
  const roots = paths.map((p) => resolve(p));
  const known = new Map<string, string>();
  const reported = new Set<string>();
  let closed = false;
  let scanning: Promise<void> = Promise.resolve();
  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;

  const report = (path: string, message: string) => {
    const key = `${path}\0${message}`;
    if (reported.has(key)) return;
    reported.add(key);
    options.onError?.(path, message);
  };

  async function scanOnce(): Promise<void> {
    const present: string[] = [];
    for (const root of roots) {
      try {
        const st = await stat(root);
        if (st.isDirectory()) await collect(root, present);
        else present.push(root);
      } catch (e) {
        report(
          root,
          (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message,
        );
      }
    }
    const seen = new Set<string>();
    for (const file of [...new Set(present)].sort()) {
      if (closed) return;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        // Vanished between readdir and read: the next scan sees it gone.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') report(file, (e as Error).message);
        if (known.has(file)) seen.add(file);
        continue;
      }
      seen.add(file);
      const hash = createHash('sha256').update(text).digest('hex');
      if (known.get(file) === hash) continue;
      known.set(file, hash);
      await options.onFile(file, text);
    }
    for (const file of [...known.keys()]) {
      if (seen.has(file) || closed) continue;
      known.delete(file);
      await options.onFile(file, undefined);
    }
  }

  const scan = (): Promise<void> => {
    scanning = scanning.then(() => (closed ? undefined : scanOnce()));
    return scanning;
  };

  const soon = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void scan(), options.debounceMs ?? 100);
  };

  await scan();
  for (const root of roots) {
    try {
      const w = watch(root, { recursive: true, persistent: false }, soon);
      w.on('error', () => {});
      watchers.push(w);
    } catch {
      // Missing path or no recursive watch here: the periodic rescan covers it.
    }
  }
  const timer = setInterval(() => void scan(), options.intervalMs ?? 1000);
  timer.unref();

  return {
    files: () => [...known.keys()].sort(),
    scan,
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(debounce);
      for (const w of watchers) w.close();
    },
  };
}
