// The broker's package tests wait with @eddy/runtime's waitFor, at these defaults: event-log work
// (Kafka consumer groups joining, commits) can take most of 20 s; polls are cheap. Test-only: not
// built, not exported; tests import it by path.
import { waitForWith } from '@eddy/runtime';

export const waitFor = waitForWith({ timeoutMs: 20_000, intervalMs: 10 });
