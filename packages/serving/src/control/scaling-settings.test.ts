import { DEFAULT_LAG_TARGET } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { parseScalingSettings, scalingSettings } from './scaling-settings.js';

const K = 'autoscaling.knative.dev/';

describe('scalingSettings', () => {
  it("Knative's defaults when nothing is annotated", () => {
    expect(scalingSettings({}, 0)).toEqual({
      metric: 'concurrency',
      target: 100,
      targetUtilization: 0.7,
      stableWindowMs: 60_000,
      panicWindowPercentage: 10,
      panicThresholdPercentage: 200,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      minScale: 0,
      maxScale: 0,
      initialScale: 1,
      activationScale: 1,
      scaleDownDelayMs: 0,
      scaleToZeroRetentionMs: 0,
      scaleToZeroGraceMs: 30_000,
      lagTarget: DEFAULT_LAG_TARGET,
      backlog: true,
    });
  });

  it('target: containerConcurrency when > 0, 200 for rps, an explicit target capped by containerConcurrency', () => {
    expect(scalingSettings(undefined, 10).target).toBe(10);
    expect(scalingSettings({ [`${K}metric`]: 'rps' }, 0).target).toBe(200);
    expect(scalingSettings({ [`${K}metric`]: 'rps' }, 0).metric).toBe('rps');
    expect(scalingSettings({ [`${K}target`]: '50' }, 0).target).toBe(50);
    expect(scalingSettings({ [`${K}target`]: '50' }, 20).target).toBe(20);
    expect(scalingSettings({ [`${K}target`]: '5' }, 20).target).toBe(5);
  });

  it('reads every annotation, kebab-case and the legacy camelCase keys', () => {
    const s = scalingSettings(
      {
        [`${K}targetUtilizationPercentage`]: '80',
        [`${K}window`]: '2m',
        [`${K}panicWindowPercentage`]: '20',
        [`${K}panicThresholdPercentage`]: '150',
        [`${K}minScale`]: '2',
        [`${K}maxScale`]: '8',
        [`${K}initialScale`]: '3',
        [`${K}activation-scale`]: '2',
        [`${K}scale-down-delay`]: '15s',
        [`${K}scale-to-zero-pod-retention-period`]: '1m5s',
        'autoscaling.eddy.dev/lag-target': '25.5',
        'autoscaling.eddy.dev/backlog': 'false',
      },
      0,
    );
    expect(s).toMatchObject({
      targetUtilization: 0.8,
      stableWindowMs: 120_000,
      panicWindowPercentage: 20,
      panicThresholdPercentage: 150,
      minScale: 2,
      maxScale: 8,
      initialScale: 3,
      activationScale: 2,
      scaleDownDelayMs: 15_000,
      scaleToZeroRetentionMs: 65_000,
      lagTarget: 25.5,
      backlog: false,
    });
    // The kebab-case key wins over the legacy one.
    expect(scalingSettings({ [`${K}min-scale`]: '1', [`${K}minScale`]: '4' }, 0).minScale).toBe(1);
  });

  it('platform overrides; initial-scale 0 only when the platform allows it', () => {
    const s = scalingSettings({ [`${K}initial-scale`]: '0' }, 0, {
      scaleToZeroGraceMs: 5000,
      maxScaleUpRate: 10,
      maxScaleDownRate: 4,
    });
    expect(s).toMatchObject({
      scaleToZeroGraceMs: 5000,
      maxScaleUpRate: 10,
      maxScaleDownRate: 4,
      initialScale: 1,
    });
    expect(
      scalingSettings({ [`${K}initial-scale`]: '0' }, 0, { allowZeroInitialScale: true }).initialScale,
    ).toBe(0);
    expect(() => scalingSettings({}, 0, { maxScaleDownRate: 1 })).toThrow(
      'platform.maxScaleDownRate must be a number > 1, got 1',
    );
  });

  it('invalid values are reported with their annotation and replaced by the defaults', () => {
    const r = parseScalingSettings(
      {
        [`${K}metric`]: 'cpu',
        [`${K}window`]: '2s',
        [`${K}min-scale`]: '-1',
        'autoscaling.eddy.dev/lag-target': '0',
        'autoscaling.eddy.dev/backlog': 'yes',
      },
      0,
    );
    expect(r.problems).toEqual([
      {
        annotation: `${K}metric`,
        message: 'the KPA autoscaler scales on "concurrency" or "rps", found "cpu"',
      },
      { annotation: `${K}min-scale`, message: 'expected an integer >= 0, found -1' },
      { annotation: `${K}window`, message: 'expected a duration between 6s and 1h, found "2s"' },
      { annotation: 'autoscaling.eddy.dev/lag-target', message: 'expected a number > 0, found 0' },
      { annotation: 'autoscaling.eddy.dev/backlog', message: 'expected one of true, false, found "yes"' },
    ]);
    expect(r.settings).toMatchObject({
      metric: 'concurrency',
      stableWindowMs: 60_000,
      minScale: 0,
      lagTarget: DEFAULT_LAG_TARGET,
      backlog: true,
    });
  });

  it('min-scale above max-scale is a problem and is clamped to max-scale', () => {
    const r = parseScalingSettings({ [`${K}min-scale`]: '5', [`${K}max-scale`]: '3' }, 0);
    expect(r.problems).toEqual([
      { annotation: `${K}max-scale`, message: 'max-scale (3) must be >= min-scale (5)' },
    ]);
    expect(r.settings).toMatchObject({ minScale: 3, maxScale: 3 });
  });
});
