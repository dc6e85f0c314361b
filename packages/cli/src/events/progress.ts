// Progress of a long export or import on stderr: on a terminal one line rewritten in place (at most
// every ttyIntervalMs), otherwise (a log, CI) a line every intervalMs, so redirected output stays
// readable. The final count is the command's own line, printed after done().

export interface ProgressOptions {
  /** `exporting default/orders`: what the count is of. */
  label: string;
  /** Whether stderr is a terminal. */
  tty: boolean;
  /** Writes text to stderr as it is (a terminal's line is rewritten with \r). */
  write(text: string): void;
  /** Default 5000 ms. */
  intervalMs?: number;
  /** Default 100 ms. */
  ttyIntervalMs?: number;
  now?: () => number;
}

export class Progress {
  readonly #o: ProgressOptions;
  readonly #now: () => number;
  #total: number | undefined;
  #done = 0;
  #shownAt: number;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#shownAt = this.#now();
  }

  set total(total: number) {
    this.#total = total;
  }

  /** `done` events so far (`extra` said after the count, e.g. failures); shown when it is time. */
  update(done: number, extra = ''): void {
    this.#done = done;
    const interval = this.#o.tty ? (this.#o.ttyIntervalMs ?? 100) : (this.#o.intervalMs ?? 5000);
    if (this.#now() - this.#shownAt < interval) return;
    this.#shownAt = this.#now();
    const text = `${this.#o.label}: ${this.#count()}${extra}`;
    if (this.#o.tty) {
      this.#o.write(`\r\x1b[K${text}`);
      this.#drawn = true;
    } else this.#o.write(`${text}\n`);
  }

  /** Clears a terminal's live line, so the final line replaces it. */
  done(): void {
    if (this.#drawn) this.#o.write('\r\x1b[K');
    this.#drawn = false;
  }

  #count(): string {
    const total = this.#total;
    if (total === undefined) return `${this.#done} events`;
    const percent = total === 0 ? 100 : Math.floor((this.#done / total) * 100);
    return `${this.#done}/${total} events (${percent}%)`;
  }
}
