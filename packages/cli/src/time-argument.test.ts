import { describe, expect, it } from 'vitest';
import { parseTimeArgument } from './time-argument.js';
import { UsageError } from './usage-error.js';

describe('parseTimeArgument', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  it('reads RFC 3339 times with a zone', () => {
    expect(parseTimeArgument('2026-12-01T10:00:00Z', '--from', now)).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(parseTimeArgument('2026-12-01T10:00:00.250+01:00', '--from', now)).toBe(
      Date.parse('2026-12-01T09:00:00.250Z'),
    );
  });
  it('reads durations ago', () => {
    expect(parseTimeArgument('2h', '--from', now)).toBe(now - 7_200_000);
    expect(parseTimeArgument('1h30m', '--from', now)).toBe(now - 5_400_000);
    expect(parseTimeArgument('7d', '--from', now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeArgument('90s', '--to', now)).toBe(now - 90_000);
  });
  it('names the flag and the expected forms for anything else', () => {
    for (const bad of ['', 'yesterday', '2026-12-01', '2026-12-01T10:00:00', '2x', '-2h'])
      expect(() => parseTimeArgument(bad, '--from', now)).toThrow(UsageError);
    expect(() => parseTimeArgument('soon', '--to', now)).toThrow(/invalid --to "soon": expected an RFC 3339/);
  });
});
