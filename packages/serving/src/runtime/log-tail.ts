// A replica's output, cut into lines and kept as a short tail: the last lines are what a user needs
// when a revision fails at start (Knative surfaces them in the Revision's RevisionFailed message).

/** Lines longer than this are cut so one runaway line cannot hold unbounded memory. */
export const MAX_LINE_CHARS = 4096;

/** Keeps the last `capacity` lines, oldest first. */
export class LogTail {
  readonly #capacity: number;
  readonly #lines: string[] = [];

  constructor(capacity = 20) {
    this.#capacity = capacity;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
  }

  lines(): string[] {
    return [...this.#lines];
  }
}

/**
 * Turns chunks of a byte stream into lines (without the newline, `\r\n` tolerated). A line longer
 * than MAX_LINE_CHARS is emitted in pieces; `end()` flushes a last line without a newline.
 */
export class LineSplitter {
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  write(chunk: string): void {
    let text = this.#partial + chunk;
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      this.#emit(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length > MAX_LINE_CHARS) {
      this.#onLine(text.slice(0, MAX_LINE_CHARS));
      text = text.slice(MAX_LINE_CHARS);
    }
    this.#partial = text;
  }

  end(): void {
    if (this.#partial.length > 0) this.#emit(this.#partial);
    this.#partial = '';
  }

  #emit(line: string): void {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let i = 0; i < trimmed.length || i === 0; i += MAX_LINE_CHARS) {
      this.#onLine(trimmed.slice(i, i + MAX_LINE_CHARS));
    }
  }
}
