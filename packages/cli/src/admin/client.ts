// The client side of the admin API (protocol.ts): finds the running `eddy dev` through its data dir,
// sends the token, and turns every failure into one line a user can act on.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRunning } from '@eddy/runtime';
import { Agent, request } from 'undici';
import { CliError } from '../cli-error.js';
import {
  ADMIN_FILE,
  type AdminFile,
  DATA_DIR_ENV,
  DEFAULT_DATA_DIR,
  type ErrorResponse,
  TOKEN_HEADER,
} from './protocol.js';

/** The data dir a verb talks to: `--data-dir`, else EDDY_DATA_DIR, else `.eddy` (relative to the cwd). */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_DATA_DIR;
}

export function notRunningMessage(dataDir: string, why?: string): string {
  return `no eddy dev is running for data dir ${dataDir}${why ? ` (${why})` : ''} (start one with: eddy dev -f <dir>${dataDir === DEFAULT_DATA_DIR ? '' : ` --data-dir ${dataDir}`})`;
}

/** The admin API to talk to instead of a local eddy dev's (`--server`). */
export const SERVER_ENV = 'EDDY_SERVER';
/** The bearer token sent to `--server`. */
export const ADMIN_TOKEN_ENV = 'EDDY_ADMIN_TOKEN';

function serverUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text.replace(/\/+$/, '');
  } catch {}
  throw new CliError(`--server (or ${SERVER_ENV}) must be an http(s) URL, got "${text}"`);
}

/** A non-2xx answer of the admin API. */
export class AdminRequestError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    problems: readonly string[] = [],
  ) {
    super(message, problems);
  }
}

/** Reads and checks `<dataDir>/admin.json`; every way it can be missing or wrong is one line. */
export async function readAdminFile(dataDir: string): Promise<AdminFile> {
  const path = join(dataDir, ADMIN_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(notRunningMessage(dataDir));
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${path} is not valid JSON (${(e as Error).message}); restart eddy dev to rewrite it`);
  }
  const file = parsed as Partial<AdminFile> | null;
  if (!file || typeof file !== 'object' || typeof file.url !== 'string' || !/^https?:\/\//.test(file.url)) {
    throw new CliError(`${path} has no admin API url; restart eddy dev to rewrite it`);
  }
  if (typeof file.token !== 'string' || file.token === '') {
    throw new CliError(`${path} has no token; restart eddy dev to rewrite it`);
  }
  if (typeof file.pid === 'number' && file.pid > 0 && !isRunning(file.pid)) {
    throw new CliError(notRunningMessage(dataDir, `${ADMIN_FILE} names pid ${file.pid}, which has exited`));
  }
  return file as AdminFile;
}

/** The error code of a failed connection, looking through undici's and Node's wrappers. */
export function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_') && code !== 'ABORT_ERR') return code;
    const inner = (cur as { errors?: unknown[] }).errors?.[0];
    cur = (cur as { cause?: unknown }).cause ?? inner;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface AdminClientOptions {
  /** Per request: time to the response headers. Default 30 s. */
  timeoutMs?: number;
}

export class AdminClient {
  // No keep-alive: a CLI run makes a few requests and must not be held open by idle sockets.
  readonly #agent = new Agent({ pipelining: 0 });
  readonly #timeoutMs: number;

  constructor(
    readonly dataDir: string,
    readonly admin: Pick<AdminFile, 'url' | 'token'>,
    options: AdminClientOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Finds the server: `--server` / EDDY_SERVER (an admin API such as `eddy controller`'s, token from
   * EDDY_ADMIN_TOKEN), else the eddy dev of `--data-dir` / EDDY_DATA_DIR / `.eddy`. Does not contact
   * it yet.
   */
  static async connect(
    server: { dataDir?: string | undefined; server?: string | undefined } | string | undefined,
    options: AdminClientOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<AdminClient> {
    const given = typeof server === 'object' ? server : { dataDir: server };
    const url = given.server || env[SERVER_ENV];
    if (url) return new AdminClient('', { url: serverUrl(url), token: env[ADMIN_TOKEN_ENV] ?? '' }, options);
    const dataDir = resolveDataDir(given.dataDir, env);
    return new AdminClient(dataDir, await readAdminFile(dataDir), options);
  }

  /** `eddy dev (data dir .eddy)` or `the admin API at <url>`, for messages. */
  get #where(): string {
    return this.dataDir
      ? `eddy dev at ${this.admin.url} (data dir ${this.dataDir})`
      : `the admin API at ${this.admin.url}`;
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.#call<T>('DELETE', path);
  }

  #connectionError(e: unknown): CliError {
    const code = networkCode(e);
    if (code === 'ECONNREFUSED') {
      return new CliError(
        this.dataDir
          ? notRunningMessage(this.dataDir, `nothing answers at ${this.admin.url}`)
          : `nothing answers at ${this.admin.url} (--server / ${SERVER_ENV})`,
      );
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      return new CliError(`${this.#where} did not answer within ${this.#timeoutMs / 1000} s`);
    }
    const why = (e as Error).message || code || String(e);
    return new CliError(`cannot reach ${this.#where}: ${why}`);
  }

  async #call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(path, this.admin.url), {
        method,
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        headers: {
          [TOKEN_HEADER]: `Bearer ${this.admin.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw this.#connectionError(e);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw this.#connectionError(e);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw this.#answerError(res.statusCode, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(
        `eddy dev answered ${method} ${path} with something that is not JSON: ${excerpt(text)}`,
      );
    }
  }

  #answerError(status: number, text: string): AdminRequestError {
    let parsed: Partial<ErrorResponse> = {};
    try {
      parsed = JSON.parse(text) as ErrorResponse;
    } catch {
      // Not an ErrorResponse: the raw body (shortened) is the best we have.
    }
    const said = typeof parsed.error === 'string' && parsed.error !== '' ? parsed.error : excerpt(text);
    const problems = Array.isArray(parsed.problems)
      ? parsed.problems.filter((p) => typeof p === 'string')
      : [];
    if (status === 401 && !this.dataDir) {
      return new AdminRequestError(
        `${this.#where} rejected the token in ${ADMIN_TOKEN_ENV} (401${said ? `: ${said}` : ''}); for eddy controller it is the controller's EDDY_CONTRACT_TOKEN`,
        status,
      );
    }
    if (status === 401) {
      return new AdminRequestError(
        `eddy dev at ${this.admin.url} rejected the token from ${join(this.dataDir, ADMIN_FILE)} (401${said ? `: ${said}` : ''}); is that file from another eddy dev?`,
        status,
      );
    }
    // One problem is the error itself; several are listed under it.
    return new AdminRequestError(said || `HTTP ${status}`, status, problems.length > 1 ? problems : []);
  }

  /**
   * GET a streaming NDJSON endpoint; yields one line at a time until the server ends the stream or
   * `signal` aborts (then it returns quietly).
   */
  async *lines(path: string, signal: AbortSignal): AsyncGenerator<string> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(path, this.admin.url), {
        method: 'GET',
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: 0,
        signal,
        headers: { [TOKEN_HEADER]: `Bearer ${this.admin.token}` },
      });
    } catch (e) {
      if (signal.aborted) return;
      throw this.#connectionError(e);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw this.#answerError(res.statusCode, await res.body.text().catch(() => ''));
    }
    let pending = '';
    // A character's bytes may be split between chunks: decoded as a stream, never chunk by chunk.
    const decoder = new TextDecoder('utf-8');
    try {
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk as Buffer, { stream: true });
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== '') yield line;
          nl = pending.indexOf('\n');
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      throw new CliError(`lost the connection to ${this.#where}: ${(e as Error).message}`);
    }
    if (pending.trim() !== '') yield pending.trim();
  }
}

export function excerpt(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}...` : one;
}

/** `/v1/resources/<Kind>/<ns>/<name>` and friends, with every segment escaped. */
export function resourcePath(prefix: string, kind: string, namespace: string, name: string): string {
  return `${prefix}/${encodeURIComponent(kind)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}
