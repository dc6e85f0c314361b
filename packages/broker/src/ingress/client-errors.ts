// Answers to requests Node's HTTP parser refuses before the ingress sees them: bad framing (400), a
// head over maxHeaderBytes (431), a request slower than requestTimeoutMs (408). They get the
// ingress' `{error}` shape with the limit named, instead of Fastify's generic "Client Error".
//
// Ordering: a parser error on a keep-alive connection whose earlier request arrived whole and is
// still being stored must not be answered first. Fastify's default handler writes it at once and
// closes the socket, so the sender read a 4xx while its first request went on to be stored (and
// never got its 202). Here the connection is closed once those requests were answered; the bad
// bytes get no answer of their own.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ClientErrorLimits {
  maxHeaderBytes: number;
  requestTimeoutMs: number;
}

export class ClientErrors {
  readonly #open = new WeakMap<Duplex, Set<IncomingMessage>>();
  readonly #closeWhenAnswered = new WeakSet<Duplex>();
  readonly #limits: ClientErrorLimits;

  constructor(limits: ClientErrorLimits) {
    this.#limits = limits;
  }

  /** Wraps the server's request listener to know which requests each connection has unanswered. */
  tracking(handler: RequestListener): RequestListener {
    return (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      const open = this.#open.get(socket) ?? new Set<IncomingMessage>();
      this.#open.set(socket, open);
      open.add(request);
      response.once('close', () => {
        open.delete(request);
        if (open.size === 0 && this.#closeWhenAnswered.has(socket)) socket.destroy();
      });
      handler(request, response);
    };
  }

  /** Fastify's `clientErrorHandler`. */
  readonly handle = (error: NodeJS.ErrnoException, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // `complete`: the request arrived whole (a request still arriving is the one at fault).
    const answerPending = [...(this.#open.get(socket) ?? [])].some((request) => request.complete);
    if (answerPending) {
      this.#closeWhenAnswered.add(socket);
      return;
    }
    const { status, text, message } = this.#describe(error);
    const body = JSON.stringify({ error: message });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };

  #describe(error: NodeJS.ErrnoException): { status: number; text: string; message: string } {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      return {
        status: 408,
        text: 'Request Timeout',
        message: `request not received whole within the limit of ${this.#limits.requestTimeoutMs} ms (requestTimeoutMs)`,
      };
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      return {
        status: 431,
        text: 'Request Header Fields Too Large',
        message: `request headers exceed the limit of ${this.#limits.maxHeaderBytes} bytes (maxHeaderBytes)`,
      };
    }
    return {
      status: 400,
      text: 'Bad Request',
      message: `malformed HTTP request: ${error.message.replace(/^Parse Error: /, '')}`,
    };
  }
}
