import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceKey } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { FileResourceStore, STORE_FILE } from './file-resource-store.js';
import { loadManifest } from './manifests.js';
import { SECRETS_FILE } from './secret-values.js';

const dir = () => mkdtempSync(join(tmpdir(), 'eddy-store-'));

const trigger = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  namespace: 'default',
  name,
  resource: {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace: 'default', ...extra },
    spec: { broker: 'default', filter: { attributes: { type } }, subscriber: { uri: 'http://127.0.0.1:1/' } },
  },
});

describe('FileResourceStore', () => {
  it('bumps metadata.generation on spec changes only, keeps creationTimestamp, and says what it did', () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = FileResourceStore.open(dir(), { now: () => now });
    expect(store.upsert(trigger('t', 'a'), { type: 'api' })).toBe('created');
    const key = resourceKey('Trigger', 'default', 't');
    expect(store.get(key)?.resource.metadata).toMatchObject({
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00.000Z',
    });
    now = new Date('2026-01-02T00:00:00Z');
    expect(store.upsert(trigger('t', 'a'), { type: 'api' })).toBe('unchanged');
    expect(store.upsert(trigger('t', 'b'), { type: 'api' })).toBe('configured');
    expect(store.get(key)?.resource.metadata.generation).toBe(2);
    // Labels are metadata: configured, but the generation stays (Kubernetes semantics).
    expect(store.upsert(trigger('t', 'b', { labels: { team: 'x' } }), { type: 'api' })).toBe('configured');
    expect(store.get(key)?.resource.metadata).toMatchObject({
      generation: 2,
      creationTimestamp: '2026-01-01T00:00:00.000Z',
      labels: { team: 'x' },
    });
    // A generation or status in the input is the server's business, not the client's.
    const withServerFields = trigger('t', 'b', { labels: { team: 'x' }, generation: 40 });
    (withServerFields.resource as Record<string, unknown>).status = { observedGeneration: 40 };
    expect(store.upsert(withServerFields, { type: 'api' })).toBe('unchanged');
    expect(store.get(key)?.resource.metadata.generation).toBe(2);
  });

  it('persists across reopen (atomically written, mode 0600) and refuses a corrupt file by name', () => {
    const d = dir();
    const store = FileResourceStore.open(d);
    store.upsert(trigger('t', 'a'), { type: 'file', file: '/x/a.yaml' });
    store.upsert(trigger('t', 'b'), { type: 'file', file: '/x/a.yaml' });
    store.setStatus(resourceKey('Trigger', 'default', 't'), { observedGeneration: 2, conditions: [] });
    store.flush();
    expect(statSync(join(d, STORE_FILE)).mode & 0o777).toBe(0o600);
    const again = FileResourceStore.open(d);
    const entry = again.get(resourceKey('Trigger', 'default', 't'));
    expect(entry?.resource.metadata.generation).toBe(2);
    expect(entry?.origin).toEqual({ type: 'file', file: '/x/a.yaml' });
    expect(entry?.resource.status?.observedGeneration).toBe(2);
    expect(again.upsert(trigger('t', 'c'), { type: 'api' })).toBe('configured');
    expect(again.get(resourceKey('Trigger', 'default', 't'))?.resource.metadata.generation).toBe(3);

    writeFileSync(join(d, STORE_FILE), '{"version": 1, "entr');
    expect(() => FileResourceStore.open(d)).toThrow(new RegExp(`${STORE_FILE} is not valid JSON`));
  });

  it('a Secret is stored redacted; its values live in secrets.json (0600), count for the generation and go with it', () => {
    const d = dir();
    const store = FileResourceStore.open(d);
    const secret = (token: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'default',
      name: 'gh',
      resource: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'gh', namespace: 'default' },
        data: { token: Buffer.from(token).toString('base64') },
        stringData: { extra: 'plain-extra' },
      },
    });
    const key = resourceKey('Secret', 'default', 'gh');
    expect(store.upsert(secret('hunter22'), { type: 'api' })).toBe('created');
    const text = (m: ReadonlyMap<string, Buffer> | undefined) =>
      Object.fromEntries([...(m ?? [])].map(([k, v]) => [k, v.toString()]));
    expect(text(store.values.secret('default', 'gh'))).toEqual({ token: 'hunter22', extra: 'plain-extra' });
    expect(store.get(key)?.resource).toMatchObject({
      data: { extra: '<redacted: 11 bytes>', token: '<redacted: 8 bytes>' },
    });
    expect(store.get(key)?.resource).not.toHaveProperty('stringData');
    const onDisk = readFileSync(join(d, STORE_FILE), 'utf8');
    expect(onDisk).not.toMatch(/hunter22|plain-extra|aHVudGVyMjI/);
    expect(statSync(join(d, SECRETS_FILE)).mode & 0o777).toBe(0o600);

    // Same size, other value: still a change (generation 2), and it survives a reopen.
    expect(store.upsert(secret('hunter33'), { type: 'api' })).toBe('configured');
    expect(store.get(key)?.resource.metadata.generation).toBe(2);
    expect(store.upsert(secret('hunter33'), { type: 'api' })).toBe('unchanged');
    const again = FileResourceStore.open(d);
    expect(text(again.values.secret('default', 'gh'))).toMatchObject({ token: 'hunter33' });
    expect(again.values.secret('default', 'other')).toBeUndefined();

    again.deleteAll([key]);
    expect(again.values.secret('default', 'gh')).toBeUndefined();
    expect(readFileSync(join(d, SECRETS_FILE), 'utf8')).not.toContain(
      Buffer.from('hunter33').toString('base64'),
    );

    writeFileSync(join(d, SECRETS_FILE), '{"version": 1, "secr');
    expect(() => FileResourceStore.open(d)).toThrow(new RegExp(`${SECRETS_FILE} is not valid JSON`));
  });

  it('syncFile makes a file own exactly its resources; deleting an owner deletes its children', () => {
    const store = FileResourceStore.open(dir());
    const changes: string[] = [];
    store.onChange((c) => changes.push(...c.map((x) => `${x.action} ${x.key}`)));
    store.syncFile('/f.yaml', [trigger('a', 'x'), trigger('b', 'x')]);
    expect(changes).toEqual(['created Trigger/default/a', 'created Trigger/default/b']);
    changes.length = 0;
    store.syncFile('/f.yaml', [trigger('a', 'y')]);
    expect(changes).toEqual(['configured Trigger/default/a', 'deleted Trigger/default/b']);
    changes.length = 0;
    store.syncFile('/f.yaml', []);
    expect(changes).toEqual(['deleted Trigger/default/a']);

    const svc = (kind: string, name: string) => ({
      apiVersion: 'serving.knative.dev/v1',
      kind,
      namespace: 'default',
      name,
      resource: {
        apiVersion: 'serving.knative.dev/v1',
        kind,
        metadata: { name, namespace: 'default' },
        spec: {},
      },
    });
    store.upsert(svc('Service', 's'), { type: 'api' });
    store.upsert(svc('Configuration', 's'), { type: 'owner', owner: 'Service/default/s' });
    store.upsert(svc('Revision', 's-00001'), { type: 'owner', owner: 'Configuration/default/s' });
    expect(store.deleteAll(['Service/default/s'])).toEqual(['Service/default/s']);
    expect(store.size).toBe(0);
  });

  it('keeps a bounded list of events per resource', () => {
    const store = FileResourceStore.open(dir());
    store.upsert(trigger('t', 'a'), { type: 'api' });
    const key = resourceKey('Trigger', 'default', 't');
    for (let i = 0; i < 40; i++) store.recordEvent(key, { type: 'Normal', reason: 'R', message: `m${i}` });
    const events = store.events(key);
    expect(events.length).toBe(25);
    expect(events.at(-1)?.message).toBe('m39');
  });
});

describe('loadManifest', () => {
  it('is all-or-nothing with located errors', () => {
    const text = readFileSync(
      join(import.meta.dirname, '../../../api/src/resources/__fixtures__/wrong-type.yaml'),
      'utf8',
    );
    const r = loadManifest(text, 'wrong-type.yaml');
    expect(r.ok).toBe(false);
    expect(r.resources).toEqual([]);
    expect(r.errors[0]).toMatch(/^wrong-type\.yaml:\d+:\d+: error: /);
  });

  it("with a baseDir, resolves the relative paths of containers run as processes (not third-party kinds')", () => {
    const text = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: s}
spec:
  template:
    spec:
      containers:
        - command: [./bin/server]
          workingDir: data
---
apiVersion: sources.example.com/v1alpha1
kind: HttpPollSource
metadata: {name: poll}
spec: {url: "http://127.0.0.1:1/", workingDir: data}
`;
    const options = { isThirdPartyKind: (_a: string, k: string) => k === 'HttpPollSource' };
    const [service, poll] = loadManifest(text, 'x.yaml', { ...options, baseDir: '/srv/app' }).resources;
    expect(service?.resource).toMatchObject({
      spec: {
        template: {
          spec: { containers: [{ command: ['/srv/app/bin/server'], workingDir: '/srv/app/data' }] },
        },
      },
    });
    expect(poll?.resource).toMatchObject({ spec: { workingDir: 'data' } });
    // Without one, as written.
    expect(loadManifest(text, 'x.yaml', options).resources[0]?.resource).toMatchObject({
      spec: { template: { spec: { containers: [{ command: ['./bin/server'], workingDir: 'data' }] } } },
    });
  });

  it('takes foreign kinds a loaded adapter serves, and only those', () => {
    const text = `apiVersion: sources.example.com/v1alpha1
kind: HttpPollSource
metadata: {name: poll}
spec: {url: "http://127.0.0.1:1/"}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
`;
    const r = loadManifest(text, 'x.yaml', { isThirdPartyKind: (_a, k) => k === 'HttpPollSource' });
    expect(r.ok).toBe(true);
    expect(r.resources.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual([
      'HttpPollSource default/poll',
    ]);
    expect(r.warnings).toEqual([expect.stringMatching(/Namespace.*not an Eddy resource/)]);
  });

  it("refuses a foreign kind's name longer than 63 characters, as the API does for its own kinds", () => {
    const name = 'a'.repeat(64);
    const text = `apiVersion: sources.example.com/v1alpha1
kind: HttpPollSource
metadata: {name: ${name}}
spec: {url: "http://127.0.0.1:1/"}
`;
    const options = { isThirdPartyKind: (_a: string, k: string) => k === 'HttpPollSource' };
    const r = loadManifest(text, 'x.yaml', options);
    expect(r.ok).toBe(false);
    expect(r.resources).toEqual([]);
    expect(r.errors).toEqual([
      `x.yaml:1:1: error: #0 HttpPollSource: metadata.name: "${name}" must be at most 63 characters (has 64)`,
    ]);
    // 63 is still a name.
    expect(loadManifest(text.replace(name, 'a'.repeat(63)), 'x.yaml', options).ok).toBe(true);
  });
});
