import { KINDS } from '@eddy/api';

/** `broker.eventing.knative.dev`, as kubectl names a kind in its messages. */
export function kindRef(kind: string): string {
  const def = KINDS.find((k) => k.kind === kind);
  return def ? `${kind.toLowerCase()}.${def.group}` : kind.toLowerCase();
}
