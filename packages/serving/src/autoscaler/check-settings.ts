// Guards the decision arithmetic against settings it cannot work with. The annotation parser
// (control/scaling-settings.ts) applies Knative's own ranges; this only rejects what would make the
// formulas meaningless (a zero target divides by zero, a scale-down rate below 1 scales up, ...), so
// a settings object built by hand (tests, the benchmark) fails loudly instead of deciding nonsense.

import type { ScalingSettings } from '@eddy/api';

export function checkScalingSettings(s: ScalingSettings): void {
  const problems: string[] = [];
  const finite = (name: keyof ScalingSettings, ok: (v: number) => boolean, rule: string) => {
    const v = s[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
      problems.push(`${name} must be ${rule}, got ${String(v)}`);
  };
  const wholeAtLeast = (name: keyof ScalingSettings, min: number) =>
    finite(name, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);

  if (s.metric !== 'concurrency' && s.metric !== 'rps')
    problems.push(`metric must be 'concurrency' or 'rps', got ${JSON.stringify(s.metric)}`);
  finite('target', (v) => v > 0, '> 0');
  finite('targetUtilization', (v) => v > 0 && v <= 1, 'in (0, 1]');
  finite('stableWindowMs', (v) => v >= 1000, '>= 1000');
  finite('panicWindowPercentage', (v) => v > 0 && v <= 100, 'in (0, 100]');
  finite('panicThresholdPercentage', (v) => v > 0, '> 0');
  finite('maxScaleUpRate', (v) => v >= 1, '>= 1');
  finite('maxScaleDownRate', (v) => v >= 1, '>= 1');
  wholeAtLeast('minScale', 0);
  wholeAtLeast('maxScale', 0);
  wholeAtLeast('initialScale', 0);
  wholeAtLeast('activationScale', 1);
  finite('scaleDownDelayMs', (v) => v >= 0, '>= 0');
  finite('scaleToZeroRetentionMs', (v) => v >= 0, '>= 0');
  finite('scaleToZeroGraceMs', (v) => v >= 0, '>= 0');
  finite('lagTarget', (v) => v > 0, '> 0');
  if (typeof s.backlog !== 'boolean')
    problems.push(`backlog must be a boolean, got ${JSON.stringify(s.backlog)}`);
  if (s.maxScale > 0 && s.minScale > s.maxScale)
    problems.push(`minScale ${s.minScale} must not exceed maxScale ${s.maxScale}`);
  if (problems.length > 0) throw new Error(`invalid autoscaler settings: ${problems.join('; ')}`);
}
