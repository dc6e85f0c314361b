/** `http://<host>:<port>` of a listener, an IPv6 host in brackets. */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The port a listening node:net/http server got (the asked one when it cannot tell). */
export function boundPort(address: ReturnType<import('node:net').Server['address']>, asked: number): number {
  return typeof address === 'object' && address ? address.port : asked;
}
