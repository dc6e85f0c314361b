/**
 * The generated CRDs and the admission webhook against a real kube-apiserver: the Knative docs manifests
 * that `eddy validate` accepts apply with `kubectl apply --server-side`, the ones it refuses are refused
 * by the API server with a message naming the field, and an invalid Trigger is refused with the very
 * message `eddy validate` prints. The webhook runs in this process, registered by its 127.0.0.1 URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdKinds, formatProblem, loadPaths, loadText } from '@eddy/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdmissionWebhook,
  registerAdmissionWebhooks,
  startAdmissionWebhook,
  webhookConfigurations,
} from '../../packages/cli/src/controller/admission/index.ts';
import { run } from '../../packages/cli/src/program.ts';
import { type KubernetesCluster, startKubernetesCluster } from '../harness/kubernetes.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CORPUS = resolve(REPO_ROOT, '../shared/conformance/knative-docs-manifests');
const present = existsSync(join(CORPUS, 'index.json'));
if (!present)
  console.warn(`[crds] knative-docs corpus not found at ${CORPUS}: skipping the CRD end-to-end test`);

interface Entry {
  file: string;
  status: string;
  note?: string;
}
const index: { files: Entry[] } = present
  ? JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8'))
  : { files: [] };

/** API groups/versions whose kinds the cluster serves: our CRDs, and the core API (`v1`). */
const SERVED = new Set([
  'v1',
  ...crdKinds().flatMap(({ names }) => names.versions.map((v) => `${names.group}/${v}|${names.kind}`)),
]);
const served = (apiVersion: string, kind: string) =>
  apiVersion === 'v1' || SERVED.has(`${apiVersion}|${kind}`);

/**
 * The documents of a file that this cluster serves, each moved into `namespace`. Text-level, on purpose:
 * the test package has no YAML library, and the corpus is plain (top-level `apiVersion:`/`kind:`,
 * `metadata.namespace` the only `namespace:` at metadata's indentation); a document this misreads fails loudly.
 */
function servedDocuments(
  text: string,
  namespace: string,
): { yaml: string; skipped: string[]; count: number } {
  const skipped: string[] = [];
  const kept: string[] = [];
  for (const doc of text.split(/^---[ \t]*$/m)) {
    const field = (name: string) => new RegExp(`^${name}:[ \t]*["']?([^"'\\s#]+)`, 'm').exec(doc)?.[1];
    const apiVersion = field('apiVersion');
    const kind = field('kind');
    if (!apiVersion || !kind) continue;
    if (!served(apiVersion, kind)) {
      skipped.push(`${apiVersion} ${kind}`);
      continue;
    }
    if (kind === 'Namespace') {
      kept.push(doc);
      continue;
    }
    // metadata's own indentation (the docs use one or two spaces).
    const indent = /^metadata:[ \t]*\n( +)/m.exec(doc)?.[1] ?? '  ';
    const own = new RegExp(`^${indent}namespace:.*$`, 'm');
    kept.push(
      own.test(doc)
        ? doc.replace(own, `${indent}namespace: ${namespace}`)
        : doc.replace(/^metadata:[ \t]*$/m, `metadata:\n${indent}namespace: ${namespace}`),
    );
  }
  return { yaml: kept.map((d) => `---\n${d.trim()}\n`).join(''), skipped, count: kept.length };
}

const NS = 'eddy-crds';
let cluster: KubernetesCluster;
let webhook: AdmissionWebhook;

async function kubectl(args: string[], input?: string) {
  return cluster.kubectl(args, input === undefined ? {} : { input });
}

async function crdsYaml(): Promise<string> {
  const lines: string[] = [];
  const code = await run(['crds'], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  expect(code).toBe(0);
  return `${lines.join('\n')}\n`;
}

describe.skipIf(!present)('CRDs and the admission webhook on a real kube-apiserver', () => {
  beforeAll(async () => {
    // A cluster of its own rather than the run's shared one: the webhooks registered here are
    // cluster-wide and fail closed, so while this file runs they would judge every Eddy object of any
    // other test file, and vanish with this process. No nodes: nothing here needs Pods.
    cluster = await startKubernetesCluster({ nodes: false });
    const crds = await kubectl(['apply', '--server-side', '-f', '-'], await crdsYaml());
    expect(crds.stderr).toBe('');
    expect(crds.code).toBe(0);
    const established = await kubectl([
      'wait',
      '--for=condition=Established',
      'crd',
      '-l',
      'eddy.dev/crd=true',
      '--timeout=60s',
    ]);
    expect(established.code, established.stderr).toBe(0);
    webhook = await startAdmissionWebhook({ host: '127.0.0.1', logger: pino({ level: 'warn' }) });
    await registerAdmissionWebhooks(
      cluster.kubeconfigPath,
      webhookConfigurations({ url: webhook.url, caBundle: webhook.caBundle }),
    );
    expect((await kubectl(['create', 'namespace', NS])).code).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await webhook?.close();
    await cluster?.stop();
  });

  it('serves every kind: kubectl get works for each resource, ksvc included', async () => {
    for (const { names } of crdKinds()) {
      const res = await kubectl(['get', `${names.plural}.${names.group}`, '-n', NS]);
      expect(res.code, `${names.crdName}: ${res.stderr}`).toBe(0);
    }
    const ksvc = await kubectl(['get', 'ksvc', '-n', NS]);
    expect(ksvc.code, ksvc.stderr).toBe(0);
  });

  it('applies every Knative docs manifest eddy validate accepts; refuses the ones it rejects, naming the field', async () => {
    const tally = {
      applied: 0,
      documents: 0,
      refused: 0,
      foreignOnly: 0,
      skippedDocs: [] as string[],
      notYaml: 0,
    };
    let n = 0;
    for (const entry of index.files) {
      const path = join(CORPUS, entry.file);
      if (entry.status !== 'ok') {
        // Fragments and "..." elisions are not manifests; knative-docs-corpus.test.ts covers them.
        tally.notYaml++;
        continue;
      }
      const namespace = `${NS}-${++n}`;
      expect((await kubectl(['create', 'namespace', namespace])).code).toBe(0);
      const result = await loadPaths([path]);
      const errors = result.problems.filter((p) => p.severity === 'error');
      const { yaml, skipped, count } = servedDocuments(readFileSync(path, 'utf8'), namespace);
      tally.skippedDocs.push(...skipped);
      if (count === 0) {
        tally.foreignOnly++;
        continue;
      }
      const res = await kubectl(['apply', '--server-side', '-f', '-'], yaml);
      if (errors.length === 0) {
        expect(res.code, `${entry.file} is valid for eddy validate but kubectl says:\n${res.stderr}`).toBe(0);
        tally.applied++;
        tally.documents += count;
      } else {
        expect(res.code, `${entry.file} is invalid for eddy validate but kubectl applied it`).not.toBe(0);
        // The API server (schema, CEL) or the webhook (eddy validate's rules) names at least one field
        // eddy validate names.
        const fields = errors.map((p) => p.path).filter(Boolean);
        expect(
          fields.some((f) => res.stderr.includes(f)),
          `${entry.file}: kubectl's message names none of ${fields.join(', ')}:\n${res.stderr}`,
        ).toBe(true);
        tally.refused++;
        console.log(
          `[crds] ${entry.file} refused: ${res.stderr.trim().split('\n').join(' | ').slice(0, 300)}`,
        );
      }
    }
    const knownInvalid = index.files.filter((e) => e.status === 'ok' && e.note).length;
    console.log(
      `[crds] applied ${tally.applied} manifests (${tally.documents} documents); refused ${tally.refused} that eddy validate rejects (${knownInvalid} of them known-invalid in the index); skipped ${tally.skippedDocs.length} documents of kinds without a CRD here (${[...new Set(tally.skippedDocs)].join(', ')}; ${tally.foreignOnly} files had nothing else); ${tally.notYaml} files are fragments, not manifests`,
    );
    // Every manifest file was either applied, refused, or had only kinds we do not serve.
    const manifests = index.files.filter((e) => e.status === 'ok').length;
    expect(tally.applied + tally.refused + tally.foreignOnly).toBe(manifests);
    expect(tally.applied).toBeGreaterThanOrEqual(20);
    expect(tally.refused).toBeGreaterThanOrEqual(knownInvalid);
  }, 300_000);

  it('refuses the known-invalid manifests with the field in the message', async () => {
    const expectations: Record<string, RegExp> = {
      // Two dialects in one filter: only eddy's rules (the webhook) know.
      '03-trigger-triggers.yaml': /spec\.filters\[0\]: multiple dialects found \(exact, suffix\)/,
      // A map where a list belongs: the structural schema.
      '12-trigger-triggers.yaml': /spec\.filters/,
      // subscriber under filter: unknown field (strict field validation) or missing spec.subscriber.
      '13-trigger-triggers.yaml': /spec\.(filter\.)?subscriber/,
    };
    for (const [file, pattern] of Object.entries(expectations)) {
      const { yaml } = servedDocuments(readFileSync(join(CORPUS, file), 'utf8'), NS);
      const res = await kubectl(['apply', '--server-side', '-f', '-'], yaml);
      expect(res.code, file).not.toBe(0);
      expect(res.stderr, file).toMatch(pattern);
    }
  });

  it("refuses a Trigger with bad CESQL with eddy validate's own message", async () => {
    const manifest = [
      'apiVersion: eventing.knative.dev/v1',
      'kind: Trigger',
      'metadata:',
      '  name: bad-cesql',
      `  namespace: ${NS}`,
      'spec:',
      '  broker: default',
      '  filters:',
      `    - cesql: "type = 'order' AND (source LIKE '/orders%'"`,
      '  subscriber:',
      '    uri: http://display.example.com/',
      '',
    ].join('\n');
    const problems = loadText(manifest, 'trigger.yaml').problems.filter((p) => p.severity === 'error');
    expect(problems).toHaveLength(1);
    // What `eddy validate` prints, without `trigger.yaml:9:15: error: #0 `.
    const printed = formatProblem(problems[0]!).replace(/^trigger\.yaml:\d+:\d+: error: #0 /, '');
    expect(printed).toMatch(/^Trigger eddy-crds\/bad-cesql: spec\.filters\[0\]\.cesql: /);
    const res = await kubectl(['apply', '--server-side', '-f', '-'], manifest);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('admission webhook "validation.webhook.eddy.dev" denied the request');
    expect(res.stderr).toContain(printed);
  });

  it("refuses traffic that does not sum to 100 through CEL, with eddy validate's message", async () => {
    const route = `apiVersion: serving.knative.dev/v1
kind: Route
metadata: {name: split, namespace: ${NS}}
spec:
  traffic:
    - {configurationName: app, percent: 90}
`;
    const eddy = loadText(route, 'route.yaml').problems.map((p) => `${p.path}: ${p.message}`);
    expect(eddy).toEqual(['spec.traffic: traffic percents sum to 90, expected 100']);
    const res = await kubectl(['apply', '--server-side', '-f', '-'], route);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/spec\.traffic: Invalid value: .*traffic percents sum to 90, expected 100/);
  });

  it('defaults like eddy validate: structural defaults and the mutating webhook', async () => {
    const manifest = `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: defaulted, namespace: ${NS}}\n`;
    const res = await kubectl(['apply', '--server-side', '-f', '-'], manifest);
    expect(res.code, res.stderr).toBe(0);
    const got = await kubectl(['get', 'broker', 'defaulted', '-n', NS, '-o', 'json']);
    const broker = JSON.parse(got.stdout);
    expect(broker.metadata.annotations['eventing.knative.dev/broker.class']).toBe('MTChannelBasedBroker');
    expect(broker.spec.delivery).toEqual({ retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' });
    // Updates go through both webhooks with the stored object (managedFields, uid, defaults): still valid.
    const again = await kubectl(['apply', '--server-side', '-f', '-'], manifest);
    expect(again.code, again.stderr).toBe(0);
    const label = await kubectl(['label', 'broker', 'defaulted', '-n', NS, 'team=a']);
    expect(label.code, label.stderr).toBe(0);
    // generateName: the defaulting webhook runs before the API server makes up the name.
    const created = await kubectl(
      ['create', '-o', 'json', '-f', '-'],
      `apiVersion: sources.knative.dev/v1\nkind: PingSource\nmetadata: {generateName: ping-, namespace: ${NS}}\nspec:\n  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: defaulted}}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    const ping = JSON.parse(created.stdout);
    expect(ping.metadata.name).toMatch(/^ping-/);
    expect(ping.spec.schedule).toBe('* * * * *');
    expect(ping.spec.sink.ref.namespace).toBe(NS);
  });

  it("shows Knative's printer columns", async () => {
    const brokers = await kubectl(['get', 'brokers', '-n', NS]);
    expect(brokers.code, brokers.stderr).toBe(0);
    expect(brokers.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'URL', 'AGE', 'READY', 'REASON']);
    await kubectl(
      ['apply', '--server-side', '-f', '-'],
      `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: hello, namespace: ${NS}}\nspec:\n  template:\n    spec:\n      containers: [{image: example.com/hello}]\n`,
    );
    const ksvc = await kubectl(['get', 'ksvc', '-n', NS]);
    expect(ksvc.code, ksvc.stderr).toBe(0);
    expect(ksvc.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
      'NAME',
      'URL',
      'LATESTCREATED',
      'LATESTREADY',
      'READY',
      'REASON',
    ]);
    expect(ksvc.stdout).toContain('hello');
  });
});
