import { describe, expect, it } from 'vitest';
import { isCurrentFetch } from './group-consumer.js';

describe('isCurrentFetch: which fetch answers reach the handler', () => {
  const asked = { position: 100n, epoch: 3 };

  it('an answer for the position and epoch the partition is still at', () => {
    expect(isCurrentFetch(asked, { position: 100n, epoch: 3 }, false)).toBe(true);
  });

  // Two fetch rounds asked for the same position (the first round's other leader failed while this
  // one was in flight); the first answer was delivered and moved the position on. The second must
  // not deliver the same records again.
  it('not once another answer moved the partition on', () => {
    expect(isCurrentFetch(asked, { position: 160n, epoch: 3 }, false)).toBe(false);
  });

  it('not after a seek, a rewind or an assignment change (the epoch moved)', () => {
    expect(isCurrentFetch(asked, { position: 100n, epoch: 4 }, false)).toBe(false);
  });

  it('not while a batch of the partition is being delivered', () => {
    expect(isCurrentFetch(asked, { position: 100n, epoch: 3 }, true)).toBe(false);
  });

  it('not for a revoked partition', () => {
    expect(isCurrentFetch(asked, undefined, false)).toBe(false);
  });
});
