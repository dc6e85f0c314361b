// `--tls-cert`/`--tls-key` of the component processes (`eddy ingress`, `eddy serving`, `eddy sources`):
// one spec and one reader, so every process names a bad file the same way.

import { type FlagSpec, UsageError } from '../process-main.js';
import { type CertificateLogger, ServingCertificate } from './serving-certificate.js';
import { TlsConfigError } from './tls-material.js';

export const TLS_FLAGS = {
  'tls-cert': {
    value: '<file>',
    help: 'serve HTTPS with this PEM certificate (reloaded when the file changes; default plain HTTP)',
  },
  'tls-key': { value: '<file>', help: 'the PEM private key of --tls-cert' },
} as const satisfies Record<string, FlagSpec>;

/**
 * Both flags or neither: `{ tls }` to spread into a process's options. `prefix` names flags of the
 * same pair for another listener (`router-` for `--router-tls-cert`/`--router-tls-key`). @throws UsageError.
 */
export function tlsFlagFiles(
  cert: string | undefined,
  key: string | undefined,
  prefix = '',
): { tls?: { cert: string; key: string } } {
  if (cert === undefined && key === undefined) return {};
  if (cert === undefined || key === undefined)
    throw new UsageError(`--${prefix}tls-cert and --${prefix}tls-key go together: give both`);
  return { tls: { cert, key } };
}

/** The certificate of `--tls-cert`/`--tls-key`, read and checked now. @throws UsageError naming the flag. */
export function servingCertificateFromFlags(
  files: { cert: string; key: string },
  logger?: CertificateLogger,
): ServingCertificate {
  try {
    return ServingCertificate.fromFiles(
      { ...files, labels: { cert: `--tls-cert ${files.cert}`, key: `--tls-key ${files.key}` } },
      logger,
    );
  } catch (error) {
    if (error instanceof TlsConfigError) throw new UsageError(error.message);
    throw error;
  }
}
