// Gauges of levels that move on every request (events in flight, requests queued), read when
// Prometheus scrapes instead of set at every change. prom-client's Gauge.set hashes its labels by
// sorting their names and allocates a new entry on every call; the dispatcher and its router set such
// gauges six times per delivery, which showed as 3% of the dispatcher's CPU and 10% of what it
// allocates (bench/RESULTS.md, "soak"). A level is a number its owner already keeps, so the gauge
// asks for it at scrape time and the request path does nothing.
import { Gauge, type LabelValues, type Registry } from 'prom-client';

export interface LevelGauge<L extends string> {
  /**
   * Reports `read()` under `labels` at every scrape until the returned function is called. Sources
   * with the same labels (two routers on one registry) are summed; labels nobody tracks are not shown.
   */
  track(labels: LabelValues<L>, read: () => number): () => void;
}

interface Series<L extends string> {
  labels: LabelValues<L>;
  reads: Set<() => number>;
}

class TrackedLevels<L extends string> implements LevelGauge<L> {
  readonly #series = new Map<string, Series<L>>();
  readonly #labelNames: readonly L[];

  constructor(labelNames: readonly L[]) {
    this.#labelNames = labelNames;
  }

  track(labels: LabelValues<L>, read: () => number): () => void {
    const key = JSON.stringify(this.#labelNames.map((name) => labels[name]));
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, reads: new Set() };
      this.#series.set(key, series);
    }
    const tracked = series;
    // A function of its own, so the same reader tracked twice is two sources, each removed once.
    const source = () => read();
    tracked.reads.add(source);
    return () => {
      tracked.reads.delete(source);
      if (tracked.reads.size === 0 && this.#series.get(key) === tracked) this.#series.delete(key);
    };
  }

  /** Fills `gauge` with the current levels (its collect hook). */
  collectInto(gauge: Gauge<L>): void {
    gauge.reset();
    for (const { labels, reads } of this.#series.values()) {
      let sum = 0;
      for (const read of reads) sum += read();
      gauge.set(labels, sum);
    }
  }
}

const levelsOf = new WeakMap<Registry, Map<string, TrackedLevels<string>>>();

/**
 * The level gauge `name` of `registry`, created (and registered) on first use: several components
 * of one kind may share a registry (tests, a restarted dispatcher), and they share its series.
 */
export function registeredLevelGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): LevelGauge<L> {
  let byName = levelsOf.get(registry);
  if (byName === undefined) {
    byName = new Map();
    levelsOf.set(registry, byName);
  }
  const existing = byName.get(name);
  if (existing !== undefined) return existing as unknown as LevelGauge<L>;
  const levels = new TrackedLevels<L>(labelNames);
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      levels.collectInto(this);
    },
  });
  byName.set(name, levels as unknown as TrackedLevels<string>);
  return levels;
}
