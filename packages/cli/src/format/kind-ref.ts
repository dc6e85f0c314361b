import { KINDS } from '@eddy/api';

/** `broker.eventing.knative.dev` (a core kind: `secret`), as kubectl names a kind in its messages. */
export function kindRef(kind: string): string {
  const def = KINDS.find((k) => k.kind === kind);
  return def?.group ? `${kind.toLowerCase()}.${def.group}` : kind.toLowerCase();
}
