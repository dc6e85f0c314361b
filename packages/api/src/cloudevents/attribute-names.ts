// Names the CloudEvents spec reserves, shared by everything that turns outside names (headers,
// message attributes, overrides) into extensions: none of them may become one.

/** Context attributes of CloudEvents 1.0 and 0.3 (`schemaurl`, `datacontentencoding`), and the data members. */
export const CONTEXT_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  'id',
  'source',
  'specversion',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'schemaurl',
  'datacontentencoding',
  'data',
  'data_base64',
]);

/**
 * Members of an SDK CloudEvent that a binary-mode message (HTTP or Kafka) does not carry as
 * attribute headers: the data is the body and datacontenttype the content type.
 */
export const NON_HEADER_MEMBERS: ReadonlySet<string> = new Set(['data', 'data_base64', 'datacontenttype']);

/** An extension name per the spec: lower-case ASCII letters and digits; 20 characters at most is the spec's SHOULD. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** Whether `name` may be used as an extension attribute (valid, and not a context attribute). */
export function isExtensionName(name: string): boolean {
  return EXTENSION_NAME.test(name) && !CONTEXT_ATTRIBUTE_NAMES.has(name);
}

/** Whether `value` is a legal extension attribute value in the JSON format: a string, a 32-bit integer or a boolean. */
export function isExtensionValue(value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value <= 2 ** 31 - 1;
}
