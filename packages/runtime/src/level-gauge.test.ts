import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registeredLevelGauge } from './level-gauge.js';

const series = async (registry: Registry) =>
  (await registry.metrics()).split('\n').filter((line) => line.startsWith('test_level'));

describe('registeredLevelGauge', () => {
  it('reports what each source reads at scrape time, without being set', async () => {
    const registry = new Registry();
    const gauge = registeredLevelGauge(registry, 'test_level', 'a level', ['route']);
    let a = 3;
    let b = 0;
    gauge.track({ route: 'a' }, () => a);
    gauge.track({ route: 'b' }, () => b);
    expect(await series(registry)).toEqual(['test_level{route="a"} 3', 'test_level{route="b"} 0']);
    a = 7;
    b = 2;
    expect(await series(registry)).toEqual(['test_level{route="a"} 7', 'test_level{route="b"} 2']);
  });

  it('sums sources with the same labels and drops a series once nobody tracks it', async () => {
    const registry = new Registry();
    const gauge = registeredLevelGauge(registry, 'test_level', 'a level', ['namespace', 'revision']);
    const labels = { namespace: 'default', revision: 'hello-00001' };
    const first = gauge.track(labels, () => 2);
    // Another component on the same registry (a second router) gets the same gauge.
    const second = registeredLevelGauge(registry, 'test_level', 'a level', ['namespace', 'revision']).track(
      { revision: 'hello-00001', namespace: 'default' },
      () => 5,
    );
    expect(await series(registry)).toEqual(['test_level{namespace="default",revision="hello-00001"} 7']);
    first();
    first();
    expect(await series(registry)).toEqual(['test_level{namespace="default",revision="hello-00001"} 5']);
    second();
    expect(await series(registry)).toEqual([]);
  });

  it('keeps one gauge per registry and name', async () => {
    const one = new Registry();
    const two = new Registry();
    registeredLevelGauge(one, 'test_level', 'a level', ['route']).track({ route: 'x' }, () => 1);
    registeredLevelGauge(two, 'test_level', 'a level', ['route']).track({ route: 'x' }, () => 4);
    expect(await series(one)).toEqual(['test_level{route="x"} 1']);
    expect(await series(two)).toEqual(['test_level{route="x"} 4']);
  });
});
