import { dataValue } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSourceRegistry } from '../builtins.js';
import type { SourceDefinition } from '../sdk/adapter.js';
import { sourceKey } from '../sdk/runner.js';
import { useSourceTestBed } from '../testing/source-test-bed.js';
import { testSourceDefinition } from '../testing/test-source-definition.js';
import { waitUntil } from '../testing/wait-until.js';
import { parseSchedule } from './ping-source.js';

const quiet = pino({ level: 'silent' });

function ping(sink: string, spec: Record<string, unknown>, name = 'every-second'): SourceDefinition {
  return testSourceDefinition({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    name,
    sinkUrl: sink,
    spec: { schedule: '* * * * * *', ...spec },
    delivery: {
      retry: 50,
      backoffPolicy: 'linear',
      backoffDelayMs: 100,
      maxBackoffMs: 200,
      timeoutMs: 2_000,
    },
  });
}

async function delivered(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find(
    (m) => m.name === 'eddy_source_events_delivered_total',
  );
  const values = (metric?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  return values.find((v) => v.labels.name === name)?.value ?? 0;
}

describe('PingSource', () => {
  const bed = useSourceTestBed(() => ({ adapters: createSourceRegistry(), logger: quiet }));

  it('fires every second with Knative attributes, JSON data and ceOverrides', async () => {
    const def = ping(bed.sink.url, { contentType: 'application/json', data: '{ "message": "hello" }' });
    def.ceOverrides = { extensions: { team: 'blue' } };
    const status = await bed.runner.apply(def);
    expect(status.ready).toMatchObject({ status: 'True', reason: 'Started' });
    await bed.sink.waitFor((r) => r.length >= 2, 5_000);
    const events = bed.sink.accepted();
    for (const e of events.slice(0, 2)) {
      expect(e.type).toBe('dev.knative.sources.ping');
      expect(e.source).toBe('/apis/v1/namespaces/demo/pingsources/every-second');
      expect(e.specversion).toBe('1.0');
      expect(e.datacontenttype).toBe('application/json');
      expect(dataValue(e)).toEqual({ message: 'hello' });
      expect(e.team).toBe('blue');
      // time is the scheduled tick: a whole second
      expect(new Date(String(e.time)).getMilliseconds()).toBe(0);
    }
    const [first, second] = events;
    expect(first?.id).not.toBe(second?.id);
    expect(Date.parse(String(second?.time)) - Date.parse(String(first?.time))).toBe(1_000);
    expect(bed.sink.requests[0]?.body.toString()).toBe('{"message":"hello"}');
    expect(bed.sink.requests[0]?.headers['ce-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends dataBase64 decoded and text data as is, with contentType', async () => {
    await bed.runner.apply(
      ping(bed.sink.url, { contentType: 'application/octet-stream', dataBase64: 'AAEC/w==' }, 'bytes'),
    );
    await bed.runner.apply(ping(bed.sink.url, { contentType: 'text/plain', data: 'plain words' }, 'text'));
    await bed.sink.waitFor(
      (r) =>
        r.some((x) => String(x.headers['ce-source']).endsWith('/bytes')) &&
        r.some((x) => String(x.headers['ce-source']).endsWith('/text')),
      5_000,
    );
    const bytes = bed.sink.requests.find((x) => String(x.headers['ce-source']).endsWith('/bytes'));
    expect(bytes?.headers['content-type']).toBe('application/octet-stream');
    expect([...(bytes?.body ?? [])]).toEqual([0, 1, 2, 255]);
    const text = bed.sink.requests.find((x) => String(x.headers['ce-source']).endsWith('/text'));
    expect(text?.headers['content-type']).toBe('text/plain');
    expect(text?.body.toString()).toBe('plain words');
  });

  it('acks nothing while the sink is down and delivers the retried ticks once it is back', async () => {
    await bed.runner.apply(ping(bed.sink.url, {}, 'outage'));
    await bed.sink.waitFor((r) => r.length >= 1, 5_000);
    await waitUntil(
      async () => (await delivered(bed.registry, 'outage')) >= 1,
      5_000,
      'a delivered tick',
      20,
    );
    await bed.sink.down();
    const downAt = Date.now();
    // A response already on the wire when the sink went down may still be counted: settle first.
    await sleep(100);
    const before = await delivered(bed.registry, 'outage');
    await sleep(2_400);
    expect(await delivered(bed.registry, 'outage')).toBe(before);
    const requestsWhileDown = bed.sink.requests.length;
    await bed.sink.up();
    const upAt = Date.now();
    await bed.sink.waitFor((r) => r.length >= requestsWhileDown + 3, 5_000);
    const late = bed.sink.accepted().slice(requestsWhileDown);
    const lateTimes = late
      .map((e) => Date.parse(String(e.time)))
      .filter((t) => t > downAt - 1_000 && t < upAt);
    // The ticks that fell in the outage (at least two of the ~2.5 s) arrive after it, each once.
    expect(lateTimes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(late.map((e) => e.id)).size).toBe(late.length);
    expect(await delivered(bed.registry, 'outage')).toBeGreaterThan(before);
    // Removing the source stops the ticks.
    await bed.runner.remove(sourceKey({ kind: 'PingSource', namespace: 'demo', name: 'outage' }));
    const count = bed.sink.requests.length;
    await sleep(1_300);
    expect(bed.sink.requests.length).toBe(count);
  });

  it('reads CRON_TZ prefixes, lets spec.timezone win, defaults an empty schedule', () => {
    expect(parseSchedule({ schedule: 'CRON_TZ=Europe/Paris 0 9 * * *' })).toEqual({
      pattern: '0 9 * * *',
      timezone: 'Europe/Paris',
    });
    expect(parseSchedule({ schedule: 'TZ=UTC 0 9 * * *', timezone: 'Asia/Tokyo' })).toEqual({
      pattern: '0 9 * * *',
      timezone: 'Asia/Tokyo',
    });
    expect(parseSchedule({})).toEqual({ pattern: '* * * * *' });
  });
});
