/**
 * One line saying what went wrong, for logs and status messages: the message, prefixed by a system
 * or undici error code (ECONNREFUSED, UND_ERR_SOCKET) when the message does not already name it,
 * and the cause's message when it adds something.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: unknown }).cause;
  const systemCode =
    typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) && !err.message.includes(code);
  const base = systemCode ? `${code} ${err.message}` : err.message;
  return cause instanceof Error && cause.message !== err.message ? `${base} (${cause.message})` : base;
}
