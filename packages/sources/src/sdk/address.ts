// The address a listening adapter publishes with `context.setAddress()`: checked and normalized here,
// so a wrong value fails in the adapter that passed it, with the value in the message.

/** The URL as `status.address.url` shows it (WHATWG-normalized), or a TypeError saying what is wrong. */
export function sourceAddress(value: unknown): string {
  const shown = value instanceof URL ? value.href : JSON.stringify(value);
  let url: URL | undefined;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string') url = URL.parse(value) ?? undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`setAddress: expected an absolute http:// or https:// URL, found ${shown}`);
  }
  return url.href;
}
