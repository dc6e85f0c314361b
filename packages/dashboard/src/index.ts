// The dashboard's fastify plugin: serves the page (web/), its scripts and the layout library (elkjs's
// browser bundle, out of node_modules) under /dashboard/, from a fixed list of files read once, so no
// request path ever reaches the file system. The server that registers it decides who may call the
// API the page reads (the admin API: see packages/cli/src/admin/dashboard-auth.ts).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

export const DASHBOARD_PREFIX = '/dashboard';

const web = (file: string) => fileURLToPath(new URL(`../web/${file}`, import.meta.url));
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** URL path under the prefix -> file on disk. */
export function dashboardAssets(): Record<string, string> {
  return {
    '/': web('index.html'),
    '/app.js': web('app.js'),
    '/graph.js': web('graph.js'),
    '/panels.js': web('panels.js'),
    '/api.js': web('api.js'),
    '/style.css': web('style.css'),
    '/vendor/elk.bundled.js': require.resolve('elkjs/lib/elk.bundled.js'),
  };
}

/** Every path registerDashboard serves, exactly: what a server may answer without credentials. */
export function dashboardPaths(): string[] {
  return [DASHBOARD_PREFIX, ...Object.keys(dashboardAssets()).map((path) => `${DASHBOARD_PREFIX}${path}`)];
}

export function registerDashboard(app: FastifyInstance): void {
  for (const [path, file] of Object.entries(dashboardAssets())) {
    const body = readFileSync(file);
    const type = TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    app.get(`${DASHBOARD_PREFIX}${path}`, async (_request, reply) =>
      reply
        .header('content-type', type)
        .header('cache-control', 'no-cache')
        // Everything is served from here: no inline script, no other origin, no framing.
        .header(
          'content-security-policy',
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        )
        .header('x-content-type-options', 'nosniff')
        .send(body),
    );
  }
  app.get(DASHBOARD_PREFIX, async (_request, reply) => reply.redirect(`${DASHBOARD_PREFIX}/`, 302));
}
