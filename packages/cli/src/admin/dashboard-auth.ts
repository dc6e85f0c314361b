// How a browser gets into the admin API without the token ever being in a URL or a log line: eddy dev
// prints a login link with a one-time code; GET /dashboard/login?code= spends it and answers with an
// HttpOnly SameSite=Strict session cookie (JavaScript cannot read it, other sites' pages cannot send
// it) and a redirect to the dashboard, so the code does not stay in the address bar either. Someone
// who has the token (admin.json) can also log in by POSTing it (the dashboard's login form does). A
// session cookie is accepted for GET /v1/... only: it reads the mesh, it never changes it.

import { randomBytes } from 'node:crypto';
import { sameSecret } from '@eddy/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DashboardLoginCode, ErrorResponse } from './protocol.js';

export const DASHBOARD_PATH = '/dashboard/';
export const DASHBOARD_LOGIN_PATH = '/dashboard/login';
/** A code minted through the API is for a link opened right away. */
const API_CODE_TTL_MS = 5 * 60_000;
/** The code eddy dev prints lives longer: the user opens it whenever they look at the terminal. */
export const PRINTED_CODE_TTL_MS = 60 * 60_000;

function secret(): string {
  return randomBytes(24).toString('base64url');
}

export class DashboardSessions {
  /** Per server run, so dashboards of two eddy devs on 127.0.0.1 (cookies ignore ports) do not collide. */
  readonly cookieName = `eddy_dashboard_${randomBytes(4).toString('hex')}`;
  readonly #codes = new Map<string, number>();
  readonly #sessions = new Set<string>();

  /** A one-time login code valid for `ttlMs`. */
  mintCode(ttlMs: number, now = Date.now()): { code: string; expiresAt: number } {
    for (const [code, expires] of this.#codes) if (expires <= now) this.#codes.delete(code);
    const code = secret();
    this.#codes.set(code, now + ttlMs);
    return { code, expiresAt: now + ttlMs };
  }

  /** Spends a code: a new session id, or undefined for an unknown, spent or expired code. */
  exchange(code: string, now = Date.now()): string | undefined {
    const expires = this.#codes.get(code);
    this.#codes.delete(code);
    if (expires === undefined || expires <= now) return undefined;
    return this.newSession();
  }

  newSession(): string {
    const id = secret();
    this.#sessions.add(id);
    return id;
  }

  /** Whether the request's Cookie header carries a session of this server. */
  accepts(cookieHeader: string | undefined): boolean {
    const value = cookieValue(cookieHeader, this.cookieName);
    return value !== undefined && this.#sessions.has(value);
  }

  setCookie(session: string): string {
    return `${this.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Requests that need no credentials: exactly the dashboard's static files (`assets`, the paths
 * registerDashboard serves) and its login; any other path, however it is spelled, needs them.
 */
export function isPublicDashboardRequest(request: FastifyRequest, assets: ReadonlySet<string>): boolean {
  const path = request.url.split('?')[0] ?? '';
  if (path === DASHBOARD_LOGIN_PATH) return request.method === 'GET' || request.method === 'POST';
  return (request.method === 'GET' || request.method === 'HEAD') && assets.has(path);
}

/** Whether a session cookie may stand in for the token: reads of the admin API only. */
export function sessionMayRead(request: FastifyRequest, sessions: DashboardSessions): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    request.url.startsWith('/v1/') &&
    sessions.accepts(request.headers.cookie)
  );
}

export function loginUrl(adminUrl: string, code: string): string {
  return `${adminUrl}${DASHBOARD_LOGIN_PATH}?code=${code}`;
}

export function registerDashboardLogin(
  app: FastifyInstance,
  o: { sessions: DashboardSessions; token: string; url(): string },
): void {
  app.get<{ Querystring: { code?: string } }>(DASHBOARD_LOGIN_PATH, async (request, reply) => {
    const session = o.sessions.exchange(request.query.code ?? '');
    if (!session) return reply.redirect(`${DASHBOARD_PATH}?login=expired`, 303);
    return reply.header('set-cookie', o.sessions.setCookie(session)).redirect(DASHBOARD_PATH, 303);
  });
  app.post<{ Body: { token?: unknown } }>(DASHBOARD_LOGIN_PATH, async (request, reply) => {
    const token = request.body?.token;
    if (typeof token !== 'string' || !sameSecret(token, o.token)) {
      const body: ErrorResponse = { error: 'wrong token (it is the "token" of <data-dir>/admin.json)' };
      return reply.code(401).send(body);
    }
    return reply.header('set-cookie', o.sessions.setCookie(o.sessions.newSession())).send({ ok: true });
  });
  app.post('/v1/dashboard/login-code', async (): Promise<DashboardLoginCode> => {
    const { code, expiresAt } = o.sessions.mintCode(API_CODE_TTL_MS);
    return { url: loginUrl(o.url(), code), expiresAt: new Date(expiresAt).toISOString() };
  });
}
