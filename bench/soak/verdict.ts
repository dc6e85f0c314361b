// Flat or growing: the least-squares slope of a metric over the samples after warm-up, times the
// window's length, relative to the window's mean ("growth over the last 20 minutes"). A slope
// rather than last-vs-first because heap is a GC sawtooth: one sample taken just before a major GC
// would decide a first/last comparison alone.

export interface Growth {
  /** Slope x window / mean; NaN with fewer than 3 samples or a zero mean. */
  growth: number;
  mean: number;
  first: number;
  last: number;
  samples: number;
}

export function growthOf(points: { t: number; v: number }[], windowSeconds: number): Growth {
  const p = points.filter((x) => Number.isFinite(x.v));
  const n = p.length;
  const mean = n ? p.reduce((s, x) => s + x.v, 0) / n : Number.NaN;
  const base = { mean, first: p[0]?.v ?? Number.NaN, last: p[n - 1]?.v ?? Number.NaN, samples: n };
  if (n < 3 || mean === 0) return { growth: Number.NaN, ...base };
  const tMean = p.reduce((s, x) => s + x.t, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of p) {
    num += (x.t - tMean) * (x.v - mean);
    den += (x.t - tMean) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  return { growth: (slope * windowSeconds) / mean, ...base };
}
