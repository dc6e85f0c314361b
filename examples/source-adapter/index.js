// @ts-check
// HttpPollSource: an example third-party Eddy source adapter (see README.md).
//
// It polls `spec.url` every `spec.intervalSeconds` and emits one CloudEvent each time the response
// body changes. The "upstream ack" is `lastDelivered`: the hash of the last body the sink accepted.
// It only moves after emitter.send() resolved, so a body the sink did not take is sent again on the
// next poll (at-least-once), and the event id is the body's hash, so a sink can drop duplicates.
//
// The package has no dependencies: the SDK hands everything to start(), and emitter.send() takes
// plain event data.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @typedef {object} HttpPollSpec
 * @property {string} url                  what to poll (http or https)
 * @property {number} [intervalSeconds]    time between polls, default 30
 * @property {string} [eventType]          CloudEvent type, default dev.example.httppoll.changed
 * @property {{ secretKeyRef: { name: string, key: string } }} [authorization]
 *   optional secret whose value is sent as the Authorization header
 */

const DEFAULT_TYPE = 'dev.example.httppoll.changed';

/** @type {import('@eddy/sources').SourceAdapter<HttpPollSpec>} */
const httpPollSource = {
  apiVersion: 'sources.example.com/v1alpha1',
  kind: 'HttpPollSource',
  // One poller per source, whatever the number of `eddy sources` processes: a second one would send
  // every change twice. ('once' is the default; 'every-member' is for competing consumers.)
  placement: 'once',
  // Checked by the runner before start(); sink and ceOverrides are the runner's and not listed.
  specSchema: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      url: { type: 'string', pattern: '^https?://' },
      intervalSeconds: { type: 'number', minimum: 0.05 },
      eventType: { type: 'string', minLength: 1 },
      authorization: {
        type: 'object',
        required: ['secretKeyRef'],
        properties: {
          secretKeyRef: {
            type: 'object',
            required: ['name', 'key'],
            properties: { name: { type: 'string' }, key: { type: 'string' } },
          },
        },
      },
    },
  },

  async start(context) {
    const { spec, signal, logger, metrics, emitter, setHealth } = context;
    const intervalMs = (spec.intervalSeconds ?? 30) * 1000;
    const type = spec.eventType ?? DEFAULT_TYPE;
    // Resolved once at start: a missing secret fails start(), which the runner reports as
    // Ready=False (StartFailed) and retries.
    const token = spec.authorization ? await context.secrets.resolve(spec.authorization) : undefined;
    /** @type {Record<string, string>} */
    const headers = token ? { authorization: token } : {};
    /** @type {string | undefined} */
    let lastDelivered;

    async function pollOnce() {
      let response;
      let body;
      try {
        response = await fetch(spec.url, { headers, signal });
        body = Buffer.from(await response.arrayBuffer());
      } catch (err) {
        if (signal.aborted) return;
        setHealth({
          ready: false,
          reason: 'UpstreamUnreachable',
          message: `GET ${spec.url}: ${String(err)}`,
        });
        return;
      }
      if (!response.ok) {
        setHealth({
          ready: false,
          reason: 'UpstreamError',
          message: `GET ${spec.url} answered ${response.status}`,
        });
        return;
      }
      setHealth({ ready: true });
      const hash = createHash('sha256').update(body).digest('hex');
      if (hash === lastDelivered) return;
      metrics.received();

      const contentType = response.headers.get('content-type') ?? 'application/octet-stream';
      /** @type {unknown} */
      let data = body;
      if (/^application\/([\w.+-]+\+)?json/.test(contentType)) {
        try {
          data = JSON.parse(body.toString('utf8'));
        } catch (err) {
          // A malformed upstream message: logged, counted, skipped (not retried forever).
          logger.warn({ err: String(err), url: spec.url }, 'upstream answered invalid JSON; skipped');
          metrics.malformed();
          lastDelivered = hash;
          return;
        }
      }
      try {
        await emitter.send({ source: spec.url, type, id: hash, datacontenttype: contentType, data });
        lastDelivered = hash; // the ack: only after the sink accepted
      } catch (err) {
        // EmitError: the emitter has logged and counted it; the next poll sends the body again.
        logger.debug({ err: String(err) }, 'not delivered; will retry on the next poll');
      }
    }

    const loop = (async () => {
      while (!signal.aborted) {
        await pollOnce();
        await sleep(intervalMs, undefined, { signal }).catch(() => {});
      }
    })();

    return {
      // The runner aborts `signal` first, which ends fetch, send and sleep; then we wait for the loop.
      async stop() {
        await loop;
      },
    };
  },
};

export default httpPollSource;
