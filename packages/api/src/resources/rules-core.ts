// Semantic rules of the Kubernetes core kinds Eddy reads (Secret, ConfigMap), as the API server
// validates them: names, key names, base64 where the API wants bytes, and a ConfigMap key in only one
// of data/binaryData. No message shows a Secret's value.

import { isBase64 } from '../values/core-data.js';
import { dns1123LabelProblem, dns1123SubdomainProblem } from './names.js';
import { type RuleContext, show } from './rule-context.js';
import type { ObjectMeta } from './schemas/common.js';
import type { ConfigMap, Secret } from './schemas/core.js';

/** Kubernetes' rule for Secret and ConfigMap keys (they become file names in a volume). */
const KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_KEY_LENGTH = 253;

function checkCoreMetadata(ctx: RuleContext, meta: ObjectMeta): void {
  if (!meta.name)
    ctx.error(
      ['metadata', 'name'],
      'required field is missing (expected a DNS-1123 subdomain such as "my-secret")',
    );
  else {
    const why = dns1123SubdomainProblem(meta.name);
    if (why) ctx.error(['metadata', 'name'], `${show(meta.name)} ${why}`);
  }
  if (meta.namespace !== undefined) {
    const why = dns1123LabelProblem(meta.namespace);
    if (why) ctx.error(['metadata', 'namespace'], `${show(meta.namespace)} ${why}`);
  }
}

/** Each key's name, and (`base64`) that its value is base64, in document order. */
function checkEntries(
  ctx: RuleContext,
  field: string,
  map: Record<string, string> | undefined,
  base64?: { hint: string; alsoIn?: Record<string, string> | undefined; alsoInField?: string },
): void {
  for (const [key, value] of Object.entries(map ?? {})) {
    if (key.length > MAX_KEY_LENGTH)
      ctx.errorAtKey([field, key], `key must be at most ${MAX_KEY_LENGTH} characters (has ${key.length})`);
    else if (!KEY.test(key) || key === '.' || key === '..')
      ctx.errorAtKey(
        [field, key],
        `key ${show(key)} must consist of letters, digits, "-", "_" or "." (and not be "." or "..")`,
      );
    if (!base64) continue;
    if (base64.alsoIn && Object.hasOwn(base64.alsoIn, key))
      ctx.errorAtKey(
        [field, key],
        `key ${show(key)} is also in ${base64.alsoInField}; a key may be in only one of them`,
      );
    if (!isBase64(value))
      ctx.error([field, key], `expected base64 (RFC 4648 standard alphabet, with padding) ${base64.hint}`);
  }
}

export function checkSecret(ctx: RuleContext, s: Secret): void {
  checkCoreMetadata(ctx, s.metadata);
  checkEntries(ctx, 'data', s.data, {
    hint: '(the value is not shown; put plain text under stringData instead)',
  });
  checkEntries(ctx, 'stringData', s.stringData);
  if (s.type === '') ctx.error(['type'], 'must not be empty (omit it for "Opaque")');
  // A sender's static token (README "Sender authentication"): without both keys it would be ignored.
  if (s.metadata.labels?.[SENDER_TOKEN_LABEL] !== undefined)
    for (const key of ['token', 'subject'])
      if (s.data?.[key] === undefined && s.stringData?.[key] === undefined)
        ctx.error(
          ['metadata', 'labels', SENDER_TOKEN_LABEL],
          `a Secret labelled ${SENDER_TOKEN_LABEL} holds a sender's static token: key "${key}" is missing (expected "token" and "subject")`,
        );
}

/** The label of a Secret holding a sender's static bearer token (keys `token` and `subject`). */
export const SENDER_TOKEN_LABEL = 'eddy.dev/sender-token';

export function checkConfigMap(ctx: RuleContext, c: ConfigMap): void {
  checkCoreMetadata(ctx, c.metadata);
  checkEntries(ctx, 'data', c.data);
  checkEntries(ctx, 'binaryData', c.binaryData, {
    hint: '(text belongs under data)',
    alsoIn: c.data,
    alsoInField: 'data',
  });
}
