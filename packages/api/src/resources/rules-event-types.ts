// eventing.knative.dev/v1beta3 EventType rules, as Knative's EventTypeSpec.Validate: the attributes
// every CloudEvent has (type, source, specversion, id) must be declared; plus what Knative leaves to
// a later failure: attribute names are CloudEvents names, declared once, and the reference is a
// complete KReference.

import { parseApiVersion } from './names.js';
import { type RuleContext, show } from './rule-context.js';
import { checkMetadata } from './rules-common.js';
import type { EventType } from './schemas/event-types.js';

/** The attributes Knative's validation requires an EventType to declare. */
export const REQUIRED_EVENT_TYPE_ATTRIBUTES = ['type', 'source', 'specversion', 'id'] as const;

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

export function checkEventType(ctx: RuleContext, et: EventType): void {
  // Knative's auto-created names (et-<broker>-<md5>) outgrow a DNS label with a long broker name.
  checkMetadata(ctx, et.metadata, { subdomain: true });
  const { attributes = [], reference } = et.spec;
  const seen = new Map<string, number>();
  for (const [i, attribute] of attributes.entries()) {
    const path = ['spec', 'attributes', i, 'name'];
    if (!ATTRIBUTE_NAME.test(attribute.name))
      ctx.error(
        path,
        `invalid attribute name ${show(attribute.name)}: CloudEvents attribute names are lowercase letters and digits`,
      );
    const first = seen.get(attribute.name);
    if (first !== undefined)
      ctx.error(
        path,
        `attribute ${show(attribute.name)} is declared twice (first at spec.attributes[${first}])`,
      );
    else seen.set(attribute.name, i);
  }
  const missing = REQUIRED_EVENT_TYPE_ATTRIBUTES.filter((name) => !seen.has(name));
  if (missing.length > 0)
    ctx.error(
      ['spec', 'attributes'],
      `missing required attribute${missing.length > 1 ? 's' : ''} ${missing.map((m) => show(m)).join(', ')} (every EventType declares type, source, specversion and id)`,
    );
  if (reference) {
    if (!parseApiVersion(reference.apiVersion))
      ctx.error(
        ['spec', 'reference', 'apiVersion'],
        `expected "group/version" or "version", found ${show(reference.apiVersion)}`,
      );
    if (reference.kind === '') ctx.error(['spec', 'reference', 'kind'], 'must not be empty');
    if (reference.name === '') ctx.error(['spec', 'reference', 'name'], 'must not be empty');
  }
}
