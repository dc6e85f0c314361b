// The scale-down delay: the largest recommendation of the last `delay` milliseconds (Knative's
// max.TimeWindow, which it keeps in 2 s tick buckets; here by exact time, since ticks vary).

interface Entry {
  time: number;
  value: number;
}

export class MaxWindow {
  /** Descending by value, ascending by time: an entry that is both older and not larger can never be the max again. */
  #entries: Entry[] = [];

  /** Records `value` at `time` and returns the max over (time - delayMs, time]. */
  recordAndMax(time: number, value: number, delayMs: number): number {
    while (this.#entries.length > 0 && (this.#entries.at(-1)?.value ?? Infinity) <= value)
      this.#entries.pop();
    this.#entries.push({ time, value });
    while (this.#entries.length > 1 && (this.#entries[0]?.time ?? time) <= time - delayMs)
      this.#entries.shift();
    return this.#entries[0]?.value ?? value;
  }

  /** When the current max was recorded (for the decision's explanation). */
  maxRecordedAt(): number | undefined {
    return this.#entries[0]?.time;
  }
}
