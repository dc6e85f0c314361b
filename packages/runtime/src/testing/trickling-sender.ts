import { connect } from 'node:net';

export interface TrickleOutcome {
  /** Everything the server wrote before the connection closed. */
  readonly answer: string;
  /** From the first byte sent to the close. */
  readonly elapsedMs: number;
}

/**
 * Sends `head` (a request line and headers announcing a body) on a raw connection, then one body byte
 * every `everyMs`, never finishing, until the server closes the connection. The slow-sender attack a
 * request deadline must cut.
 */
export async function trickleUntilClosed(
  base: string,
  head: string,
  everyMs: number,
): Promise<TrickleOutcome> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
  });
  // A server may reset rather than close when it cuts a connection with a trickled byte unread; either
  // way the connection is over, which is what the caller waits for.
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  const started = Date.now();
  socket.write(head);
  const trickle = setInterval(() => socket.writable && socket.write('x'), everyMs);
  try {
    const end = await closed;
    return { answer, elapsedMs: end - started };
  } finally {
    clearInterval(trickle);
  }
}
