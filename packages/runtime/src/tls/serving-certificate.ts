// The certificate a server presents, kept current: certificates rotate (cert-manager renews a Secret,
// Kubernetes swaps the mounted files), so the files are watched and every attached server gets the
// new one through setSecureContext, without a restart. A rotation caught half-written (new cert, old
// key) is not applied: the old certificate stays until the pair matches again.

import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import {
  checkTlsMaterial,
  readTlsFiles,
  secureContextOptions,
  type TlsFiles,
  type TlsLabels,
  type TlsMaterial,
  trustAnchor,
} from './tls-material.js';

export interface CertificateLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Re-reading waits this long after the last change, so a cert and key written one after the other land together. */
const SETTLE_MS = 100;

export class ServingCertificate {
  #material: TlsMaterial;
  readonly #files: TlsFiles | undefined;
  readonly #servers = new Set<TlsServer>();
  readonly #watchers: FSWatcher[] = [];
  readonly #logger: CertificateLogger | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Rotations applied since start (for tests and logs). */
  reloads = 0;

  private constructor(material: TlsMaterial, files: TlsFiles | undefined, logger?: CertificateLogger) {
    this.#material = material;
    this.#files = files;
    this.#logger = logger;
  }

  /** Reads (and checks) the files now, then watches them. @throws TlsConfigError naming the bad file. */
  static fromFiles(files: TlsFiles, logger?: CertificateLogger): ServingCertificate {
    const cert = new ServingCertificate(readTlsFiles(files), files, logger);
    cert.#watch();
    return cert;
  }

  /** Fixed material (a Secret's): checked, never reloaded. */
  static fromMaterial(material: TlsMaterial, labels: TlsLabels): ServingCertificate {
    return new ServingCertificate(checkTlsMaterial(material, labels), undefined);
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** PEM a client trusts to verify this server (Knative's `CACerts` of an https address). */
  get caCerts(): string {
    return trustAnchor(this.#material);
  }

  /** https.createServer options for the current certificate (TLS 1.2 at least). */
  serverOptions() {
    return secureContextOptions(this.#material);
  }

  /** Keeps `server` on the current certificate until it closes. */
  attach(server: TlsServer): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /** Re-reads the files; applies them when they changed and are valid. Returns whether it applied. */
  reload(): boolean {
    if (!this.#files) return false;
    let next: TlsMaterial;
    try {
      next = readTlsFiles(this.#files);
    } catch (error) {
      this.#logger?.warn(
        { err: (error as Error).message },
        'TLS certificate change not applied (kept the current one)',
      );
      return false;
    }
    const now = this.#material;
    if (next.cert === now.cert && next.key === now.key && next.ca === now.ca) return false;
    this.#material = next;
    for (const server of this.#servers) server.setSecureContext(secureContextOptions(next));
    this.reloads++;
    this.#logger?.info({ cert: this.#files.cert }, 'TLS certificate reloaded');
    return true;
  }

  /** Stops watching the files. */
  close(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers.splice(0)) w.close();
  }

  #watch(): void {
    const files = this.#files;
    if (!files) return;
    // The directories, not the files: Kubernetes rotates a mounted Secret by swapping a symlink and
    // editors replace files by rename, both of which a watch on the old file never sees.
    const dirs = new Set([files.cert, files.key, ...(files.ca ? [files.ca] : [])].map((f) => dirname(f)));
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#changed());
        watcher.on('error', (error) => this.#logger?.warn({ err: error.message, dir }, 'TLS watch failed'));
        this.#watchers.push(watcher);
      } catch (error) {
        this.#logger?.warn(
          { err: (error as Error).message, dir },
          'cannot watch TLS files; rotation needs a restart',
        );
      }
    }
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.reload(), SETTLE_MS);
    this.#timer.unref();
  }
}
