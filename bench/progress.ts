// Progress lines of the benchmarks, on stderr so stdout keeps only the result table: every long
// operation says where it is, so a run on a busy machine never looks hung.

export function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Logs "<what>: N s" every 5 s while `work` runs. */
export async function ticking<T>(what: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => progress(`${what}: ${Math.round((Date.now() - started) / 1000)} s`), 5000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
