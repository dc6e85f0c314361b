// The API server's answer in one line: client-node's ApiException message carries the whole body and
// every header, which buries the API server's own `message` in logs.

export function kubeStatusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** `<code> <the Status message>`, or the error's own message when it is not an API answer. */
export function kubeErrorMessage(error: unknown): string {
  const code = kubeStatusCode(error);
  const body = (error as { body?: unknown } | undefined)?.body;
  if (code === undefined) return (error as Error)?.message ?? String(error);
  let message: string | undefined;
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body;
    message = (parsed as { message?: string } | undefined)?.message;
  } catch {
    message = typeof body === 'string' ? body.trim() : undefined;
  }
  return `${code}${message ? ` ${message}` : ''}`;
}
