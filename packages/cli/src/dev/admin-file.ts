// `<data-dir>/admin.json`: how the other verbs find a running `eddy dev` (URL, token, pid). Written with
// mode 0600 by an atomic rename, removed on a clean exit. A leftover file of a live process means the
// data dir is in use; one of a dead process is stale and replaced.

import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '@eddy/runtime';
import { ADMIN_FILE, type AdminFile } from '../admin/protocol.js';
import { writeFileAtomic } from './atomic-file.js';

export const newToken = (): string => randomBytes(32).toString('base64url');

/** The pid of another live `eddy dev` using this data dir, if any. */
export function runningServer(dataDir: string): AdminFile | undefined {
  let data: AdminFile;
  try {
    data = JSON.parse(readFileSync(join(dataDir, ADMIN_FILE), 'utf8')) as AdminFile;
  } catch {
    return undefined;
  }
  return typeof data.pid === 'number' && data.pid !== process.pid && isRunning(data.pid) ? data : undefined;
}

export function writeAdminFile(dataDir: string, data: AdminFile): string {
  const file = join(dataDir, ADMIN_FILE);
  writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** Removes admin.json if it is still ours (another server may have replaced a stale one). */
export function removeAdminFile(dataDir: string, token: string): void {
  const file = join(dataDir, ADMIN_FILE);
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as AdminFile;
    if (data.token !== token) return;
  } catch {
    return;
  }
  rmSync(file, { force: true });
}
