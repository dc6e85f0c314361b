import { isIP } from 'node:net';
import Fastify from 'fastify';
import type pino from 'pino';
import { createWebhookCertificates, loadOrCreateWebhookCertificates } from './certificates.js';
import { BadReviewError, defaultReview, validateReview } from './review.js';

export interface AdmissionWebhookOptions {
  /** Address to listen on; also a name in the serving certificate. */
  host: string;
  /** 0 or absent: a free port. */
  port?: number;
  logger: pino.Logger;
  /** Keep the CA and certificate here (reused across restarts, so the caBundle stays the same). */
  certDir?: string;
  /** More names the API server may call the webhook by (`eddy-webhook.eddy.svc`); 127.0.0.1 is always in. */
  dnsNames?: readonly string[];
}

export interface AdmissionWebhook {
  /** `https://<host>:<port>`, without a path: `/validate` and `/default` are appended by webhookConfigurations. */
  url: string;
  /** The CA certificate (PEM) base64-encoded, as `clientConfig.caBundle` takes it. */
  caBundle: string;
  close(): Promise<void>;
}

/** Largest AdmissionReview accepted: the API server's own request limit (3 MiB) plus the envelope. */
const BODY_LIMIT = 7 * 1024 * 1024;

/**
 * Starts the HTTPS server the API server calls for admission of Eddy's kinds (validation with `eddy
 * validate`'s rules and messages; defaulting with its defaults).
 */
export async function startAdmissionWebhook(options: AdmissionWebhookOptions): Promise<AdmissionWebhook> {
  const names = [
    ...(isIP(options.host) || options.host === '0.0.0.0' ? [] : [options.host]),
    ...(options.dnsNames ?? []),
  ];
  if (isIP(options.host) && options.host !== '0.0.0.0' && options.host !== '::') names.push(options.host);
  const certs = options.certDir
    ? await loadOrCreateWebhookCertificates(options.certDir, names)
    : await createWebhookCertificates(names);
  const log = options.logger.child({ component: 'admission-webhook' });
  const app = Fastify({
    https: { key: certs.keyPem, cert: certs.certPem },
    logger: false,
    bodyLimit: BODY_LIMIT,
  });
  for (const [path, handle] of [
    ['/validate', validateReview],
    ['/default', defaultReview],
  ] as const) {
    app.post(path, async (request, reply) => {
      try {
        const answer = handle(request.body);
        const r = answer.response!;
        if (!r.allowed) log.info({ path, uid: r.uid, message: r.status?.message }, 'denied');
        return answer;
      } catch (e) {
        if (e instanceof BadReviewError) return reply.code(400).send({ message: e.message });
        log.error({ err: e, path }, 'admission review failed');
        throw e;
      }
    });
  }
  app.get('/healthz', async () => 'ok');
  const address = await app.listen({ host: options.host, port: options.port ?? 0 });
  const port = new URL(address).port;
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `https://${hostInUrl}:${port}`;
  log.info({ url }, 'admission webhook listening');
  return {
    url,
    caBundle: Buffer.from(certs.caPem).toString('base64'),
    close: () => app.close(),
  };
}
