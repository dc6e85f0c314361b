import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { getCACertificates } from 'node:tls';
import { isExtensionName, isJsonMedia, mediaType, percentEncodeHeaderValue } from '@eddy/api';
import { parseCertificates } from '@eddy/runtime';
import type { Command } from 'commander';
import { Agent, request } from 'undici';
import { AdminClient, excerpt, networkCode, resourcePath } from '../admin/client.js';
import {
  IDENTITY_TOKEN_PATH,
  type IdentityTokenRequest,
  type IdentityTokenResponse,
  type StoredResource,
} from '../admin/protocol.js';
import { CliError } from '../cli-error.js';
import { readyCondition } from '../format/columns.js';
import type { Output } from '../output.js';
import { EXIT_OK, UsageError } from '../usage-error.js';
import {
  brokerNotFoundMessage,
  clientVerb,
  collect,
  type NamespaceOptions,
  nameArgument,
  rethrowNotFound,
  runVerb,
  type ServerOptions,
} from '../verb.js';

export interface SendOptions extends ServerOptions, NamespaceOptions {
  broker?: string;
  type?: string;
  source?: string;
  id?: string;
  subject?: string;
  time?: string;
  data?: string;
  dataFile?: string;
  contentType?: string;
  extension: string[];
  /** A bearer token to send instead of one from Eddy's issuer (`--token`, EDDY_SEND_TOKEN). */
  token?: string;
  cacert?: string;
}

export const SEND_TOKEN_ENV = 'EDDY_SEND_TOKEN';

/** A binary-mode CloudEvents HTTP request, ready to POST. */
export interface BinaryEvent {
  id: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

const CONTENT_TYPE_BY_EXTENSION: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.csv': 'text/csv',
};

function parseExtensions(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid --extension "${v}": expected name=value, such as region=eu`);
    const name = v.slice(0, eq);
    if (!isExtensionName(name)) {
      throw new UsageError(
        `invalid --extension "${v}": an extension name is 1-20 lower-case letters or digits and not a context attribute (id, type, ...)`,
      );
    }
    out[name] = v.slice(eq + 1);
  }
  return out;
}

/** Checks the flags and builds the request; every mistake is a one-line UsageError. */
export async function buildBinaryEvent(
  options: SendOptions,
  now: () => Date = () => new Date(),
): Promise<BinaryEvent> {
  if (!options.broker) throw new UsageError('missing --broker <name>: which broker to send the event to');
  if (!options.type)
    throw new UsageError('missing --type <type>: the CloudEvent type, such as com.example.order.created');
  if (!options.source)
    throw new UsageError('missing --source <uri-ref>: the CloudEvent source, such as /shop');
  if (options.data !== undefined && options.dataFile !== undefined) {
    throw new UsageError('give either --data or --data-file, not both');
  }
  const time = options.time ?? now().toISOString();
  if (Number.isNaN(Date.parse(time)))
    throw new UsageError(`invalid --time "${time}": expected an RFC 3339 timestamp`);
  const id = options.id ?? randomUUID();
  if (id === '') throw new UsageError('invalid --id: an event id must not be empty');
  const extensions = parseExtensions(options.extension ?? []);

  let body: Buffer | undefined;
  let contentType = options.contentType;
  if (options.dataFile !== undefined) {
    try {
      body = await readFile(options.dataFile);
    } catch (e) {
      throw new UsageError(
        `cannot read --data-file ${options.dataFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    contentType ??=
      CONTENT_TYPE_BY_EXTENSION[extname(options.dataFile).toLowerCase()] ?? 'application/octet-stream';
  } else if (options.data !== undefined) {
    body = Buffer.from(options.data, 'utf8');
    if (contentType === undefined) {
      let json = true;
      try {
        JSON.parse(options.data);
      } catch {
        json = false;
      }
      contentType = json ? 'application/json' : 'text/plain';
    }
  }
  if (body !== undefined && contentType !== undefined && isJsonMedia(mediaType(contentType))) {
    try {
      JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new UsageError(
        `the data is not valid JSON but the content type is ${contentType}: ${(e as Error).message}`,
      );
    }
  }

  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': percentEncodeHeaderValue(id),
    'ce-type': percentEncodeHeaderValue(options.type),
    'ce-source': percentEncodeHeaderValue(options.source),
    'ce-time': time,
  };
  if (options.subject !== undefined) headers['ce-subject'] = percentEncodeHeaderValue(options.subject);
  for (const [name, value] of Object.entries(extensions))
    headers[`ce-${name}`] = percentEncodeHeaderValue(value);
  if (body !== undefined && contentType !== undefined) headers['content-type'] = contentType;
  return { id, headers, body };
}

/**
 * What verifies an https broker: the system's CAs, `--cacert`, and the CACerts its status publishes
 * (read over the token-authenticated admin API, so as trusted as the control plane).
 */
async function trustFor(cacert: string | undefined, broker: StoredResource): Promise<{ ca?: string[] }> {
  const extra: string[] = [];
  if (cacert !== undefined) {
    let pem: string;
    try {
      pem = await readFile(cacert, 'utf8');
    } catch (e) {
      throw new UsageError(
        `--cacert ${cacert}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      );
    }
    try {
      parseCertificates(pem, `--cacert ${cacert}`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    extra.push(pem);
  }
  const published = (broker.status?.address as { CACerts?: unknown } | undefined)?.CACerts;
  if (typeof published === 'string' && published !== '') extra.push(published);
  return extra.length > 0 ? { ca: [...getCACertificates('default'), ...extra] } : {};
}

/** The broker's ingress URL from its status, or why there is none yet. */
export function brokerAddress(broker: StoredResource): string {
  const url = broker.status?.address?.url;
  if (typeof url === 'string' && url !== '') return url;
  const ready = readyCondition(broker);
  const why = ready
    ? ` (Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''})`
    : '';
  throw new CliError(
    `broker ${broker.metadata.namespace}/${broker.metadata.name} has no address yet${why}; see: eddy describe broker ${broker.metadata.name}`,
  );
}

/**
 * The Authorization header: the token given (`--token`, else EDDY_SEND_TOKEN), else, when the broker
 * has an OIDC audience (authentication is on), one of Eddy's issuer for the CLI's service account.
 */
async function sendAuthorization(
  options: SendOptions,
  client: AdminClient,
  broker: StoredResource,
): Promise<string | undefined> {
  const given = options.token ?? process.env[SEND_TOKEN_ENV];
  if (given !== undefined && given !== '') return `Bearer ${given}`;
  const audience = (broker.status?.address as { audience?: unknown } | undefined)?.audience;
  if (typeof audience !== 'string' || audience === '') return undefined;
  const request: IdentityTokenRequest = { audience, namespace: broker.metadata.namespace };
  const { token } = await client.post<IdentityTokenResponse>(IDENTITY_TOKEN_PATH, request);
  return `Bearer ${token}`;
}

export async function runSend(options: SendOptions, output: Output): Promise<number> {
  const event = await buildBinaryEvent(options);
  const brokerName = nameArgument('broker', options.broker!);
  const client = await AdminClient.connect(options);
  const ns = options.namespace;
  let broker: StoredResource;
  try {
    broker = await client.get<StoredResource>(resourcePath('/v1/resources', 'Broker', ns, brokerName));
  } catch (e) {
    rethrowNotFound(e, brokerNotFoundMessage(brokerName, ns));
  }
  const url = brokerAddress(broker);
  const authorization = await sendAuthorization(options, client, broker);
  if (authorization !== undefined) event.headers.authorization = authorization;
  let res: Awaited<ReturnType<typeof request>>;
  const agent = new Agent({ pipelining: 0, connect: await trustFor(options.cacert, broker) });
  try {
    res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headersTimeout: 30_000,
      headers: event.headers,
      ...(event.body === undefined ? {} : { body: event.body }),
    });
  } catch (e) {
    const code = networkCode(e);
    throw new CliError(`cannot reach broker ${ns}/${brokerName} at ${url}: ${code ?? (e as Error).message}`);
  }
  const text = await res.body.text().catch(() => '');
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new CliError(
      `broker ${ns}/${brokerName} answered ${res.statusCode}${text ? `: ${excerpt(text)}` : ''}`,
    );
  }
  output.out(event.id);
  return EXIT_OK;
}

export function registerSend(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'send', (c) =>
    c
      .description(
        "send one CloudEvent (binary mode) to a broker's ingress; prints the event id once accepted",
      )
      .option('--broker <name>', 'the broker (required)')
      .option('--type <type>', 'ce-type (required), e.g. com.example.order.created')
      .option('--source <uri-ref>', 'ce-source (required), e.g. /shop')
      .option('--id <id>', 'ce-id (default: a random UUID)')
      .option('--subject <subject>', 'ce-subject')
      .option('--time <rfc3339>', 'ce-time (default: now)')
      .option('--data <json|text>', 'the data; JSON is sent as application/json, anything else as text/plain')
      .option('--data-file <file>', 'read the data from a file (content type from its extension)')
      .option('--content-type <type>', 'datacontenttype, overriding the guess')
      .option('--extension <name=value>', 'an extension attribute (repeatable)', collect, [])
      .option(
        '--token <jwt>',
        `send this bearer token (default $${SEND_TOKEN_ENV}; else, when the broker requires authentication, a token of Eddy's issuer for system:serviceaccount:<ns>:eddy-cli)`,
      )
      .option(
        '--cacert <file>',
        "PEM CA certificates that verify an https broker, besides the system's and the broker's status.address.CACerts",
      ),
  ).action((opts: SendOptions) => runVerb(output, setExit, () => runSend(opts, output)));
}
