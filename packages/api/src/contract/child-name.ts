// Kubernetes object names (DNS-1035 labels) are at most 63 characters; children named after a parent
// must still fit, and still be unique, when the parent's name is long. This is knative.dev/pkg's
// kmeta.ChildName scheme, so children get the same names as Knative gives them.

import { createHash } from 'node:crypto';

const MAX_NAME = 63;
const MD5_HEX = 32;
/** How much of the parent survives beside a full MD5. */
const HEAD = MAX_NAME - MD5_HEX;

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** Names end in [a-zA-Z0-9]: cutting may have left a `-` or `.` at the end. */
function trimInvalidEnd(name: string): string {
  let end = name.length;
  while (end > 0 && !/[a-zA-Z0-9]/.test(name.charAt(end - 1))) end--;
  return name.slice(0, end);
}

/**
 * `<parent><suffix>`; when that is too long, the parent is cut and an MD5 of the whole parent keeps
 * the result unique. A suffix too long for even that (over 31 characters) is cut too, with the MD5
 * taken over parent and suffix together.
 */
export function childName(parent: string, suffix: string): string {
  if (parent.length + suffix.length <= MAX_NAME) return parent + suffix;
  if (HEAD - suffix.length <= 0) {
    const kept = `${parent.slice(0, HEAD)}${md5(parent + suffix)}`;
    return trimInvalidEnd(kept + suffix.slice(0, Math.max(0, MAX_NAME - kept.length)));
  }
  return trimInvalidEnd(`${parent.slice(0, HEAD - suffix.length)}${md5(parent)}${suffix}`);
}
