// A per-request abort scope: aborts when any parent signal does or when its deadline passes.
// Per-request scopes hang off long-lived parents (a route's signal, a component's lifecycle) with
// hundreds of requests in flight. AbortSignal.any builds a composite signal with weak-ref bookkeeping
// per call, and a listener per request on the parent is O(listeners) to add and remove (EventTarget
// scans its list): both showed in the dispatcher's CPU profile. So each parent gets one listener and
// a Set of the scopes it feeds, joined and left in O(1).

const scopesOf = new WeakMap<AbortSignal, Set<AbortController>>();

function scopesFollowing(parent: AbortSignal): Set<AbortController> {
  let scopes = scopesOf.get(parent);
  if (!scopes) {
    const following = new Set<AbortController>();
    parent.addEventListener(
      'abort',
      () => {
        for (const scope of following) scope.abort(parent.reason);
        following.clear();
      },
      { once: true },
    );
    scopesOf.set(parent, following);
    scopes = following;
  }
  return scopes;
}

/** Aborts `signal` when a parent aborts (with the parent's reason) or after `timeoutMs`; dispose() when done. */
export class LinkedAbort {
  readonly #controller = new AbortController();
  /** The parents' sets this scope joined, kept so that leaving them needs no WeakMap lookup. */
  readonly #joined: Set<AbortController>[] = [];
  readonly #timer: NodeJS.Timeout | undefined;
  #timedOut = false;

  constructor(parents: readonly AbortSignal[], timeoutMs?: number) {
    const already = parents.find((p) => p.aborted);
    if (already) {
      this.#controller.abort(already.reason);
      return;
    }
    for (const parent of parents) {
      const scopes = scopesFollowing(parent);
      scopes.add(this.#controller);
      this.#joined.push(scopes);
    }
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        this.dispose();
        this.#controller.abort(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True when the deadline, not a parent, aborted the scope. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Stops following the parents and the deadline; the signal keeps its state. */
  dispose(): void {
    clearTimeout(this.#timer);
    for (const scopes of this.#joined) scopes.delete(this.#controller);
  }
}
