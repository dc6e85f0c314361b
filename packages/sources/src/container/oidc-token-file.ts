// A ContainerSource's OIDC token as a file. On Kubernetes, Knative keeps a token for the sink's
// audience in a Secret its SinkBinding mounts at /oidc, so the container reads /oidc/token. A local
// process cannot have that path: it gets a private file of its own, named by K_OIDC_TOKEN_FILE, kept
// fresh the same way (code that reads `$K_OIDC_TOKEN_FILE`, else /oidc/token, runs in both places).

import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** The variable naming the file (Eddy's; Knative's path is fixed at /oidc/token). */
export const OIDC_TOKEN_FILE_ENV = 'K_OIDC_TOKEN_FILE';

/**
 * How often the file is brought up to date. Tokens live an hour and the sender's cache renews them 5
 * minutes before they expire, so a reader never sees one with less than ~4 minutes left.
 */
export const TOKEN_FILE_REFRESH_MS = 60_000;

export interface OidcTokenFile {
  readonly path: string;
  close(): Promise<void>;
}

/** Writes `authorization()`'s token to a new 0600 file and rewrites it (atomically) when it changes. */
export async function startOidcTokenFile(
  authorization: () => string | Promise<string>,
  logger: Pick<Logger, 'warn'>,
  refreshMs = TOKEN_FILE_REFRESH_MS,
): Promise<OidcTokenFile> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-oidc-'));
  const path = join(dir, 'token');
  let written = '';
  const write = async (): Promise<void> => {
    const token = (await authorization()).replace(/^Bearer /, '');
    if (token === written) return;
    const next = `${path}.next`;
    await writeFile(next, token, { mode: 0o600 });
    // A reader opens either the old token or the new one, never half of one.
    await rename(next, path);
    written = token;
  };
  try {
    await write();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  const timer = setInterval(() => {
    write().catch((error: Error) => {
      if (!closed) logger.warn({ err: error }, `could not refresh the OIDC token file ${path}`);
    });
  }, refreshMs);
  timer.unref();
  return {
    path,
    async close() {
      closed = true;
      clearInterval(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
