/**
 * The soak bench's code (bench/soak) for 3 minutes in CI: `eddy dev` (the built CLI, embedded log)
 * with two Triggers to two Services run as processes, one autoscaled, under a paced load. Asserts:
 * every acknowledged event reached both Services (0 lost; duplicates are allowed, and counted), eddy
 * dev is alive at the end, each Eddy process was sampled with heap (used, and after major GCs) and
 * event-loop delay from its /metrics, and no Eddy process's RSS grew by half over the last 2 minutes
 * (a generous bound: the 30-minute bench judges 5%). The rate is below the bench's 2,000/s so a shared CI machine keeps up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { panels, verdicts } from '../../bench/soak/report.ts';
import { runSoak, SERVICES } from '../../bench/soak/soak.ts';
import { renderChart } from '../../bench/soak/svg.ts';
import { buildCli } from '../cli/helpers.ts';

beforeAll(() => buildCli(), 180_000);
const dir = mkdtempSync(join(tmpdir(), 'eddy-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RATE = 300;
const SECONDS = 180;
const WARMUP = 60;

describe('soak (short)', () => {
  it(`embedded, ${RATE}/s for ${SECONDS} s: 0 lost, eddy dev alive, memory not growing`, async () => {
    const r = await runSoak({
      mode: 'embedded',
      seconds: SECONDS,
      rate: RATE,
      warmupSeconds: WARMUP,
      outDir: dir,
      drainIdleSeconds: 30,
      log: (line) => process.stderr.write(`[soak] ${line}\n`),
    });
    for (const s of SERVICES) {
      expect(r.services[s], s).toMatchObject({ lost: 0 });
      expect(r.services[s]?.received, s).toBeGreaterThanOrEqual(r.acked);
    }
    expect(r.devAlive).toBe(true);
    // A tenth of the target at least (a CI machine shared with other jobs): fewer would not be a
    // soak of anything.
    expect(r.acked).toBeGreaterThan((RATE * SECONDS) / 10);
    const last = r.samples.at(-1);
    const dev = last?.components.find((c) => c.label === 'eddy dev');
    expect(dev?.sample.heapBytes).toBeGreaterThan(0);
    // The live heap the verdict judges: reported after major GCs, below the sawtooth's peaks.
    expect(dev?.sample.heapAfterGcBytes).toBeGreaterThan(0);
    expect(dev?.sample.eventLoopP99Ms).toBeGreaterThanOrEqual(0);
    expect(dev?.sample.fds).toBeGreaterThan(0);
    expect(last?.replicas.auto).toBeGreaterThanOrEqual(1);
    expect(last?.replicas.fixed).toBe(2);
    const eddy = verdicts(r).filter((v) => !v.replica);
    expect(eddy.map((v) => v.label)).toContain('eddy dev');
    expect(eddy.find((v) => v.label === 'eddy dev')?.judgedHeap).toBe('heapAfterGcBytes');
    for (const v of eddy) {
      expect(v.samples, v.label).toBeGreaterThanOrEqual(7);
      expect(v.growth.rssBytes.growth, `${v.label} RSS growth`).toBeLessThan(0.5);
    }
    const svg = renderChart('soak', panels(r), r.seconds, r.warmupSeconds);
    expect(svg.match(/<polyline /g)?.length).toBeGreaterThan(10);
  }, 330_000);
});
