// Writing a data-dir file so that a crash leaves the old or the new content, never a mix: a temp file
// beside it, fsync, rename. The file is the owner's only (mode 0600, set on the open descriptor, so a
// leftover temp file or a loose umask cannot widen it).

import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
