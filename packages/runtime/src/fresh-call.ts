// A lookup that many callers ask for at once (every route of a dispatcher starting together asks for
// the same offsets) should run once, not once per caller; but a caller must get an answer that was
// read after it asked (an end offset read before a consumer started could be older than what it
// must see). freshCall gives both: a call while none runs starts one; calls while one runs share the
// one queued behind it.

/** `fn` wrapped so that concurrent callers share runs, each getting a run that started after its call. */
export function freshCall<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let queued: Promise<T> | undefined;
  const start = (): Promise<T> => {
    const run: Promise<T> = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (running === run) running = undefined;
      });
    running = run;
    return run;
  };
  return () => {
    if (running === undefined) return start();
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
}
