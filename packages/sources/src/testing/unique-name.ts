// Names for what a test creates on a shared peer (topics, queues, subscriptions, consumer groups).
// Not exported from the package index; tests import it by path.

import { randomBytes } from 'node:crypto';

/** `<prefix>-<8 hex digits>`, so no two tests (or runs) share a name. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
