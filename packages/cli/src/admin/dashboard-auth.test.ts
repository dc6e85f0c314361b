import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  cookieValue,
  DashboardSessions,
  isPublicDashboardRequest,
  sessionMayRead,
} from './dashboard-auth.js';

const request = (method: string, url: string, cookie?: string) =>
  ({ method, url, headers: cookie ? { cookie } : {} }) as unknown as FastifyRequest;

describe('DashboardSessions', () => {
  it('spends a code once, and not after it expired', () => {
    const sessions = new DashboardSessions();
    const { code } = sessions.mintCode(1000, 0);
    const session = sessions.exchange(code, 500);
    expect(session).toMatch(/^[\w-]{32}$/);
    expect(sessions.exchange(code, 600)).toBeUndefined();
    const late = sessions.mintCode(1000, 0).code;
    expect(sessions.exchange(late, 1000)).toBeUndefined();
    expect(sessions.exchange('made-up', 0)).toBeUndefined();
  });

  it('accepts its own sessions from the Cookie header, by its own cookie name', () => {
    const sessions = new DashboardSessions();
    const other = new DashboardSessions();
    expect(sessions.cookieName).not.toBe(other.cookieName);
    const id = sessions.newSession();
    expect(sessions.setCookie(id)).toBe(`${sessions.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict`);
    expect(sessions.accepts(`a=b; ${sessions.cookieName}=${id}`)).toBe(true);
    expect(other.accepts(`${sessions.cookieName}=${id}`)).toBe(false);
    expect(sessions.accepts(`${sessions.cookieName}=nope`)).toBe(false);
    expect(sessions.accepts(undefined)).toBe(false);
  });

  it('lets a session read the admin API, never write to it', () => {
    const sessions = new DashboardSessions();
    const cookie = `${sessions.cookieName}=${sessions.newSession()}`;
    expect(sessionMayRead(request('GET', '/v1/topology', cookie), sessions)).toBe(true);
    expect(sessionMayRead(request('GET', '/v1/describe/Trigger/default/t', cookie), sessions)).toBe(true);
    expect(sessionMayRead(request('POST', '/v1/apply', cookie), sessions)).toBe(false);
    expect(sessionMayRead(request('DELETE', '/v1/resources/Trigger/default/t', cookie), sessions)).toBe(
      false,
    );
    expect(sessionMayRead(request('GET', '/v1/topology'), sessions)).toBe(false);
  });
});

describe('isPublicDashboardRequest', () => {
  const assets = new Set(['/dashboard', '/dashboard/', '/dashboard/app.js']);
  it('opens exactly the static files and the login, however a path is spelled', () => {
    expect(isPublicDashboardRequest(request('GET', '/dashboard/'), assets)).toBe(true);
    expect(isPublicDashboardRequest(request('GET', '/dashboard/app.js?x=1'), assets)).toBe(true);
    expect(isPublicDashboardRequest(request('GET', '/dashboard/login?code=abc'), assets)).toBe(true);
    expect(isPublicDashboardRequest(request('POST', '/dashboard/login'), assets)).toBe(true);
    expect(isPublicDashboardRequest(request('POST', '/dashboard/app.js'), assets)).toBe(false);
    expect(isPublicDashboardRequest(request('GET', '/dashboard/../v1/resources'), assets)).toBe(false);
    expect(isPublicDashboardRequest(request('GET', '/dashboard/%2e%2e/v1/resources'), assets)).toBe(false);
    expect(isPublicDashboardRequest(request('GET', '/v1/topology'), assets)).toBe(false);
  });
});

describe('cookieValue', () => {
  it('finds a cookie among others, trimmed', () => {
    expect(cookieValue('a=1;  b = 2 ; c=3', 'b')).toBe('2');
    expect(cookieValue('ab=1', 'a')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });
});
