// The per-test setup the adapter tests share: a real HTTP sink, a fresh metrics registry and a
// runner over the adapters under test. Not exported from the package index; tests import it by path.

import { Registry } from 'prom-client';
import { afterEach, beforeEach } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import type { SourceAdapter } from '../sdk/adapter.js';
import { SourceRegistry } from '../sdk/registry.js';
import { createSourceRunner, type SourceRunner, type SourceRunnerOptions } from '../sdk/runner.js';
import { startTestSink, type TestSink } from './test-sink.js';

export interface SourceTestBed {
  sink: TestSink;
  registry: Registry;
  runner: SourceRunner;
}

export interface SourceTestBedOptions extends Omit<SourceRunnerOptions, 'adapters' | 'registry'> {
  /** What the runner runs; a single adapter is registered alone, without the built-ins. */
  adapters: SourceRegistry | SourceAdapter;
}

export async function startSourceTestBed(options: SourceTestBedOptions): Promise<SourceTestBed> {
  const { adapters, ...runnerOptions } = options;
  const sink = await startTestSink();
  const registry = new Registry();
  const runner = createSourceRunner({ ...runnerOptions, adapters: asRegistry(adapters), registry });
  return { sink, registry, runner };
}

/** Closes the runner first, so adapters stop sending before the sink goes away. */
export async function closeSourceTestBed(bed: Pick<SourceTestBed, 'sink' | 'runner'>): Promise<void> {
  await bed.runner.close();
  await bed.sink.close();
}

/**
 * A fresh test bed for every test of the calling file or describe block: started before each test
 * with `options()`, closed after it. Its parts are read during a test (they change from test to test).
 */
export function useSourceTestBed(options: () => SourceTestBedOptions): SourceTestBed {
  let bed: SourceTestBed | undefined;
  beforeEach(async () => {
    bed = await startSourceTestBed(options());
  });
  afterEach(async () => {
    const done = bed;
    bed = undefined;
    if (done) await closeSourceTestBed(done);
  });
  const current = (): SourceTestBed => {
    if (!bed) throw new Error('the source test bed is there only while a test runs');
    return bed;
  };
  return {
    get sink() {
      return current().sink;
    },
    get registry() {
      return current().registry;
    },
    get runner() {
      return current().runner;
    },
  };
}

function asRegistry(adapters: SourceRegistry | SourceAdapter): SourceRegistry {
  if (adapters instanceof SourceRegistry) return adapters;
  const registry = createSourceRegistry({ builtins: false });
  registry.register(adapters);
  return registry;
}
