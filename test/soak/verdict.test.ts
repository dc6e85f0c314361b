import { describe, expect, it } from 'vitest';
import { growthOf } from '../../bench/soak/verdict.ts';

const series = (f: (t: number) => number) =>
  Array.from({ length: 121 }, (_, i) => ({ t: i * 10, v: f(i * 10) }));

describe('growthOf', () => {
  it('a flat sawtooth is flat; a steady leak of 10% over the window is 10%', () => {
    expect(
      Math.abs(
        growthOf(
          series((t) => 100 + ((t / 10) % 6) * 5),
          1200,
        ).growth,
      ),
    ).toBeLessThan(0.02);
    expect(
      growthOf(
        series((t) => 100 + (t / 1200) * 10),
        1200,
      ).growth,
    ).toBeCloseTo(0.1 / 1.05, 3);
  });
  it('NaN (not flat, not growing) with too few samples; missing samples are skipped', () => {
    expect(growthOf([{ t: 0, v: 1 }], 60).growth).toBeNaN();
    expect(growthOf([...series(() => 5), { t: 5, v: Number.NaN }], 1200).growth).toBe(0);
  });
});
