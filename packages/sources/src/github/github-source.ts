// GitHubSource: a webhook endpoint that verifies GitHub's `X-Hub-Signature-256` with
// @octokit/webhooks and turns each delivery into a `dev.knative.source.github.<event>` CloudEvent.
//
// At-least-once: GitHub gets its 2xx only after the sink accepted the event. When the sink rejects
// it or stays down past the emitter's retries (or past the response deadline, GitHub gives up after
// 10 s), GitHub gets a 5xx, so the delivery shows as failed and can be redelivered (GitHub's
// "Redeliver" button or its REST API; GitHub does not redeliver by itself). A redelivery carries
// the same X-GitHub-Delivery, so the event keeps its id.

import type { GitHubSource } from '@eddy/api';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestTimeoutServer } from '@eddy/runtime';
import { Webhooks } from '@octokit/webhooks';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { EmitError } from '../sdk/emitter.js';
import { githubCloudEvent } from './github-event.js';

export type GitHubSourceSpec = GitHubSource['spec'];

/** GitHub's own limit on a webhook payload. */
export const GITHUB_MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;
/** GitHub waits 10 s for an answer; the sink's verdict must come back before that. */
export const DEFAULT_RESPONSE_DEADLINE_MS = 9_000;
/** Per-source overrides of where the webhook endpoint listens. */
export const HOST_ANNOTATION = 'github.sources.eddy.dev/webhook-host';
export const PORT_ANNOTATION = 'github.sources.eddy.dev/webhook-port';

export interface GitHubSourceOptions {
  /** Interface the webhook endpoint listens on; default 127.0.0.1 (annotation HOST_ANNOTATION wins). */
  host?: string;
  /** Port; default 0 = a free one (annotation PORT_ANNOTATION wins). */
  port?: number;
  /** Largest accepted request body; default GitHub's 25 MiB. Larger = 413. */
  bodyLimit?: number;
  /** How long a delivery may wait for the sink before GitHub gets a 503; default 9000 ms. */
  responseDeadlineMs?: number;
}

type Outcome = { status: number; message: string };

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function listenOptions(
  context: SourceContext<GitHubSourceSpec>,
  options: GitHubSourceOptions,
): { host: string; port: number } {
  const host = context.annotations[HOST_ANNOTATION] ?? options.host ?? '127.0.0.1';
  const rawPort = context.annotations[PORT_ANNOTATION];
  let port = options.port ?? 0;
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : Number.NaN;
    if (!(port >= 0 && port <= 65_535)) {
      throw new TypeError(
        `metadata.annotations["${PORT_ANNOTATION}"]: expected a port number 0..65535, found "${rawPort}"`,
      );
    }
  }
  return { host, port };
}

function endpointUrl(host: string, port: number, https: boolean): string {
  return `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

async function startGitHub(
  context: SourceContext<GitHubSourceSpec>,
  options: GitHubSourceOptions,
): Promise<RunningSource> {
  const { spec, logger, metrics, emitter, signal } = context;
  const ref = spec.secretToken?.secretKeyRef;
  if (!ref) {
    throw new TypeError(
      'spec.secretToken.secretKeyRef: required; without the webhook secret no delivery can be verified',
    );
  }
  const secret = await context.secrets.resolve(ref);
  if (!secret) {
    throw new TypeError(
      `spec.secretToken.secretKeyRef: secret "${ref.name}" key "${ref.key}" is empty or missing; webhook deliveries cannot be verified without it`,
    );
  }
  const webhooks = new Webhooks({ secret });
  const eventTypes = new Set(spec.eventTypes);
  const { host, port } = listenOptions(context, options);
  const bodyLimit = options.bodyLimit ?? GITHUB_MAX_PAYLOAD_BYTES;
  const deadlineMs = options.responseDeadlineMs ?? DEFAULT_RESPONSE_DEADLINE_MS;

  async function handle(request: FastifyRequest): Promise<Outcome> {
    if (request.method !== 'POST') {
      return { status: 405, message: `method ${request.method} not allowed: GitHub webhooks are POSTed` };
    }
    const contentType = (header(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (contentType !== JSON_TYPE && contentType !== FORM_TYPE) {
      return {
        status: 415,
        message: `content-type "${contentType || '(none)'}" not supported: expected ${JSON_TYPE} or ${FORM_TYPE}`,
      };
    }
    const event = header(request, 'x-github-event');
    if (!event) return { status: 400, message: 'missing X-GitHub-Event header' };
    const deliveryId = header(request, 'x-github-delivery');
    if (!deliveryId) return { status: 400, message: 'missing X-GitHub-Delivery header' };
    const signature = header(request, 'x-hub-signature-256');
    if (!signature) {
      return { status: 400, message: 'missing X-Hub-Signature-256 header (set a secret on the webhook)' };
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    if (body.length === 0) return { status: 400, message: 'empty request body' };
    // GitHub signs the body bytes it sends: the JSON, or the whole form for form-encoded hooks.
    if (!SIGNATURE.test(signature) || !(await webhooks.verify(body.toString('utf8'), signature))) {
      return { status: 401, message: 'X-Hub-Signature-256 does not match the body and the secret' };
    }
    if (event !== 'ping' && !eventTypes.has(event)) {
      logger.debug({ event, deliveryId }, 'github delivery ignored: event not in spec.eventTypes');
      return { status: 200, message: `ignored: event "${event}" is not in spec.eventTypes` };
    }
    metrics.received();
    let json: Buffer = body;
    if (contentType === FORM_TYPE) {
      const payload = new URLSearchParams(body.toString('utf8')).get('payload');
      if (payload === null) return malformed(event, deliveryId, 'form body has no "payload" field');
      json = Buffer.from(payload, 'utf8');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(json.toString('utf8'));
    } catch (err) {
      return malformed(event, deliveryId, `payload is not JSON: ${(err as Error).message}`);
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return malformed(event, deliveryId, 'payload is not a JSON object');
    }
    const cloudEvent = githubCloudEvent({
      event,
      deliveryId,
      ownerAndRepository: spec.ownerAndRepository,
      payload: payload as Record<string, unknown>,
      body: json,
    });
    try {
      await emitter.send(cloudEvent, { signal: AbortSignal.timeout(deadlineMs) });
      return { status: 202, message: 'accepted' };
    } catch (err) {
      if (!(err instanceof EmitError)) throw err;
      return sendFailed(err, event, deliveryId);
    }
  }

  function malformed(event: string, deliveryId: string, why: string): Outcome {
    metrics.malformed();
    logger.warn({ event, deliveryId }, `github delivery skipped: ${why}`);
    return { status: 400, message: why };
  }

  function sendFailed(err: EmitError, event: string, deliveryId: string): Outcome {
    if (err.reason === 'aborted') {
      const why = signal.aborted
        ? 'the source is stopping'
        : `no answer from the sink within ${deadlineMs} ms`;
      logger.warn({ event, deliveryId }, `github delivery not acknowledged: ${why}`);
      return { status: 503, message: `event not delivered: ${why}; redeliver later` };
    }
    if (err.reason === 'unencodable') return { status: 400, message: err.message };
    // rejected / retries_exhausted: already logged and counted by the emitter.
    return {
      status: err.reason === 'rejected' ? 502 : 503,
      message: `event not delivered: ${err.message}; redeliver later`,
    };
  }

  const app: FastifyInstance = Fastify({
    bodyLimit,
    logger: false,
    serverFactory: requestTimeoutServer(DEFAULT_REQUEST_TIMEOUT_MS, { tls: context.tls }),
  });
  // Keep the raw bytes of every body: the signature covers them, and the content type is judged
  // by the handler so that an unsupported one gets a clear 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    done(null, body);
  });
  const route = async (request: FastifyRequest, reply: FastifyReply) => {
    let outcome: Outcome;
    try {
      outcome = await handle(request);
    } catch (err) {
      logger.error({ err }, 'github delivery failed unexpectedly');
      outcome = { status: 500, message: `internal error: ${(err as Error).message}` };
    }
    if (outcome.status === 405) void reply.header('allow', 'POST');
    return reply.code(outcome.status).type('text/plain; charset=utf-8').send(outcome.message);
  };
  app.all('/', route);
  app.all('/*', route);

  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = endpointUrl(host, boundPort, context.tls !== undefined);
  logger.info({ url, eventTypes: spec.eventTypes }, 'github webhook endpoint listening');
  context.setAddress(url);
  context.setHealth({ ready: true, reason: 'Listening', message: `webhook endpoint ${url}` });

  return {
    async stop() {
      // ctx.signal is already aborted, so deliveries still waiting for the sink answer 503 now.
      await app.close();
    },
  };
}

/** A GitHubSource adapter with its own listening defaults (tests use a small body limit). */
export function createGitHubSourceAdapter(
  options: GitHubSourceOptions = {},
): SourceAdapter<GitHubSourceSpec> {
  return {
    apiVersion: 'sources.knative.dev/v1alpha1',
    kind: 'GitHubSource',
    // One webhook endpoint (the source's address) per source: one sources process listens.
    placement: 'once',
    start: (context) => startGitHub(context, options),
  };
}

export const githubSourceAdapter = createGitHubSourceAdapter();
