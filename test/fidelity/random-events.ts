// Random valid CloudEvents for the fidelity tests, and the wire forms a sender that is not Eddy
// would write: binary-mode HTTP headers, structured and batch JSON texts built by hand (with the
// spacing and number spellings real producers use), Kafka records. Written here, independently
// of @eddy/api's bindings, so a mistake in those cannot cancel itself out.
//
// An event is kept as the sender wrote it: its attributes with their JSON types and the exact
// data bytes. What a subscriber must receive in binary mode follows from that alone (expected()).

import fc from 'fast-check';

export type AttributeValue = string | number | boolean;

export interface SentEvent {
  /** Every attribute, specversion included, datacontenttype when present; extensions typed. */
  attributes: Record<string, AttributeValue>;
  /** The data as written: JSON text, text or bytes; absent = no data. */
  data?: { kind: 'json'; text: string } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Buffer };
}

/** What a subscriber gets in binary mode: attributes as header strings, the data bytes. */
export interface Delivered {
  attributes: Record<string, string>;
  body: Buffer;
}

const CONTEXT = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'schemaurl',
  'subject',
  'time',
  'datacontentencoding',
  'data',
  'data_base64',
]);

/** Extension names the tests use for routing or that Eddy documents as its own. */
const RESERVED = /^(fidelityrole|traceparent|tracestate|knativeerror.*)$/;

const unicodeText = (minLength = 1) => fc.string({ unit: 'grapheme', minLength, maxLength: 24 });
const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);

const uriReference = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`),
  fc.tuple(segment, segment).map(([a, b]) => `https://example.com/${a}/${b}`),
  segment.map((s) => `urn:eddy:${s}`),
  segment.map((s) => `/caf%C3%A9/${s}`),
);

const timestamp = fc
  .record({
    millis: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
    offset: fc.constantFrom('Z', '+00:00', '+02:00', '-07:30', '+14:00'),
  })
  .map(({ millis, fraction, offset }) => {
    const base = new Date(millis).toISOString().slice(0, 19);
    return `${base}${fraction === undefined ? '' : `.${fraction}`}${offset}`;
  });

const extensionName = fc
  .stringMatching(/^[a-z][a-z0-9]{0,19}$/)
  .filter((name) => !CONTEXT.has(name) && !RESERVED.test(name));

const extensionValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  unicodeText(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.boolean(),
  timestamp,
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b).toString('base64')),
);

/** JSON texts as producers write them: any spacing, number spellings JSON.parse would change. */
const jsonData = fc.oneof(
  fc
    .tuple(fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 3 }), fc.constantFrom(undefined, 2, '\t'))
    .map(([value, indent]) => JSON.stringify(value, null, indent)),
  fc.constantFrom(
    '{ "id": 12345678901234567890, "price": 1.0, "qty": 1E3 }',
    '[1,  2,\n 3]',
    '"caf\\u00e9"',
    '-0',
    '{"nested":{"a":[true,false,null]},"s":"\\ud83d\\ude00"}',
  ),
);

type DataChoice = NonNullable<SentEvent['data']> | undefined;

const dataAndType: fc.Arbitrary<{ data: DataChoice; contentType: string | undefined }> = fc.oneof(
  fc.constant({ data: undefined, contentType: undefined }),
  fc
    .tuple(
      jsonData,
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.x+json'),
    )
    .map(([text, contentType]) => ({ data: { kind: 'json' as const, text }, contentType })),
  fc
    .tuple(unicodeText(0), fc.constantFrom('text/plain', 'text/plain; charset=utf-8', 'text/csv'))
    .map(([text, contentType]) => ({ data: { kind: 'text' as const, text }, contentType })),
  fc
    .tuple(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.constantFrom('application/octet-stream', undefined),
    )
    .map(([bytes, contentType]) => ({
      data: { kind: 'bytes' as const, bytes: Buffer.from(bytes) },
      contentType,
    })),
);

/** A random valid CloudEvent (1.0 mostly, some 0.3); `id` is made unique by the caller. */
export const randomEvent: fc.Arbitrary<SentEvent> = fc
  .record({
    specversion: fc.constantFrom('1.0', '1.0', '1.0', '0.3'),
    id: unicodeText(),
    source: uriReference,
    type: unicodeText(),
    subject: fc.option(unicodeText(), { nil: undefined }),
    time: fc.option(timestamp, { nil: undefined }),
    schema: fc.option(
      segment.map((s) => `https://example.com/schemas/${s}`),
      { nil: undefined },
    ),
    extensions: fc.dictionary(extensionName, extensionValue, { maxKeys: 4 }),
    payload: dataAndType,
  })
  .map((r) => {
    const attributes: Record<string, AttributeValue> = {
      ...r.extensions,
      specversion: r.specversion,
      id: r.id,
      source: r.source,
      type: r.type,
    };
    if (r.subject !== undefined) attributes.subject = r.subject;
    if (r.time !== undefined) attributes.time = r.time;
    if (r.schema !== undefined) attributes[r.specversion === '0.3' ? 'schemaurl' : 'dataschema'] = r.schema;
    if (r.payload.contentType !== undefined) attributes.datacontenttype = r.payload.contentType;
    const event: SentEvent = { attributes };
    if (r.payload.data !== undefined) event.data = r.payload.data;
    return event;
  });

/** A copy of `event` with a unique id and extra attributes (routing). */
export function tagged(event: SentEvent, id: string, extra: Record<string, AttributeValue> = {}): SentEvent {
  return { ...event, attributes: { ...event.attributes, ...extra, id: `${event.attributes.id}#${id}` } };
}

export function dataBytes(event: SentEvent): Buffer {
  const { data } = event;
  if (data === undefined) return Buffer.alloc(0);
  return data.kind === 'bytes' ? data.bytes : Buffer.from(data.text, 'utf8');
}

/**
 * The event a subscriber must receive in binary mode, given how it was sent. A 0.3 event sent in
 * the JSON format with bytes carries them as base64 text marked by `datacontentencoding` (0.3 has
 * no data_base64): that text is its data from then on.
 */
export function expected(event: SentEvent, sentAs: 'binary' | 'json'): Delivered {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) attributes[name] = String(value);
  if (sentAs === 'json' && event.attributes.specversion === '0.3' && event.data?.kind === 'bytes') {
    attributes.datacontentencoding = 'base64';
    return { attributes, body: Buffer.from(event.data.bytes.toString('base64'), 'utf8') };
  }
  if (sentAs === 'json' && event.data?.kind === 'json' && event.data.text === 'null') {
    return { attributes, body: Buffer.alloc(0) };
  }
  return { attributes, body: dataBytes(event) };
}

const RUNS = Number(process.env.EDDY_FIDELITY_RUNS ?? 10);

/**
 * fast-check settings: on failure, report the seed (to replay it: EDDY_FIDELITY_SEED) and the
 * first mismatch, which names the event and the attribute or bytes, rather than the whole
 * generated batch of events.
 */
export const FIDELITY_RUN: fc.Parameters<unknown> = {
  numRuns: RUNS,
  endOnFailure: true,
  ...(process.env.EDDY_FIDELITY_SEED ? { seed: Number(process.env.EDDY_FIDELITY_SEED) } : {}),
  reporter: (details) => {
    if (!details.failed) return;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fidelity property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${cause}`,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Wire forms

/** The binding's header value encoding: space, `"`, `%` and everything outside printable ASCII as %XX of UTF-8. */
export function pctEncode(value: string): string {
  return Array.from(value)
    .map((char) => {
      const code = char.codePointAt(0) ?? 0;
      if (code > 0x20 && code < 0x7f && char !== '"' && char !== '%') return char;
      return Array.from(Buffer.from(char, 'utf8'))
        .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
        .join('');
    })
    .join('');
}

export function binaryRequest(event: SentEvent): { headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === 'datacontenttype') headers['content-type'] = String(value);
    else headers[`ce-${name}`] = pctEncode(String(value));
  }
  return { headers, body: dataBytes(event) };
}

/** The event as a JSON-format object text, members spaced as `spacing` says. */
export function jsonText(event: SentEvent, spacing: string): string {
  const members = Object.entries(event.attributes).map(
    ([name, value]) => `"${name}":${spacing}${JSON.stringify(value)}`,
  );
  const { data } = event;
  if (data?.kind === 'json') members.push(`"data":${spacing}${data.text}`);
  else if (data?.kind === 'text') members.push(`"data":${spacing}${JSON.stringify(data.text)}`);
  else if (data?.kind === 'bytes') {
    const base64 = data.bytes.toString('base64');
    if (event.attributes.specversion === '0.3') {
      members.push(`"datacontentencoding":${spacing}"base64"`, `"data":${spacing}"${base64}"`);
    } else members.push(`"data_base64":${spacing}"${base64}"`);
  }
  return `{${spacing}${members.join(`,${spacing}`)}${spacing}}`;
}

export const SPACINGS = ['', ' ', '\n  ', '\t'];

/** Decodes a binary-mode request as a subscriber that is not Eddy would. */
export function received(headers: Record<string, string | string[] | undefined>, body: Buffer): Delivered {
  const attributes: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (name === 'content-type') attributes.datacontenttype = value;
    else if (name.startsWith('ce-')) attributes[name.slice(3)] = decodeURIComponent(value);
  }
  return { attributes, body };
}
