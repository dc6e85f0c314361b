/**
 * charts/eddy against the shared test cluster (kube-apiserver + kwok: Pods turn Ready, nothing runs in
 * them): lint, what the templates render, a server-side dry run, then one release installed, checked
 * (Deployments Available, each ServiceAccount's RBAC, the webhook certificate as the controller reads
 * it), upgraded and uninstalled. Plus the chart's files against their sources: crds/ against `eddy
 * crds`, the README's values table against values.yaml, every flag the chart passes against the
 * component's own --help.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { crdsYaml } from '../../packages/cli/src/commands/crds.ts';
import {
  loadOrCreateWebhookCertificates,
  webhookConfigurations,
} from '../../packages/cli/src/controller/admission/index.ts';
import { CHART_CRDS_DIR, chartCrdFiles } from '../../scripts/chart-crds.ts';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { helmFor, type Kubectl, type KubectlResult, kubectlFor } from '../harness/kubernetes.ts';
import { type NodeProcess, spawnNodeScript } from '../harness/node-process.ts';
import { waitFor } from '../harness/wait.ts';

const cluster = inject('kubernetes');
const kubectl: Kubectl = kubectlFor(cluster);
const helm: Kubectl = helmFor(cluster);

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CHART = join(REPO_ROOT, 'charts/eddy');
/** Nothing connects to it: kwok's Pods run nothing. */
const KAFKA = 'kafka.kafka.svc:9092';
const COMPONENTS = ['controller', 'ingress', 'dispatcher', 'serving', 'sources'] as const;
/** Generous: kwok shares two cores with other test runs, and has been seen to stall for a minute. */
const HELM_WAIT = '240s';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are read field by field in the checks
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  status?: any;
  data?: Record<string, string>;
  rules?: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }[];
}

const shortId = () => randomUUID().slice(0, 8);

function ok(res: KubectlResult, what: string): string {
  expect(res.code, `${what} failed:\n${res.stderr}\n${res.stdout.slice(-2000)}`).toBe(0);
  return res.stdout;
}

function documents(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

async function template(sets: string[], namespace = 'eddy-system', release = 'eddy'): Promise<KubeObject[]> {
  const args = ['template', release, CHART, '--namespace', namespace];
  for (const s of sets) args.push('--set', s);
  return documents(ok(await helm(args), `helm template ${sets.join(' ')}`));
}

const withKafka = (...sets: string[]) => [`kafka.bootstrapServers=${KAFKA}`, ...sets];
const find = (objects: KubeObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const deployments = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'Deployment');
const containerOf = (deployment: KubeObject) => deployment.spec.template.spec.containers[0];

/** `flag value` pairs of a container's args. */
function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

// ---------------------------------------------------------------------------------------------

// helm, kubectl and node processes take seconds each when the 2 shared cores are busy.
const SLOW = { timeout: 120_000 };

describe('charts/eddy files', SLOW, () => {
  it('crds/ holds exactly what `eddy crds` prints, one file per CRD (pnpm run chart:crds)', () => {
    const expected = chartCrdFiles(crdsYaml());
    const present = readdirSync(CHART_CRDS_DIR).sort();
    expect(present, 'crds/ has other files than eddy crds prints: run pnpm run chart:crds').toEqual(
      [...expected.keys()].sort(),
    );
    for (const [file, text] of expected) {
      expect(
        readFileSync(join(CHART_CRDS_DIR, file), 'utf8') === text,
        `crds/${file} differs from eddy crds: run pnpm run chart:crds`,
      ).toBe(true);
    }
    // One file per document: together they are the whole output.
    expect([...expected.values()].join('')).toBe(crdsYaml());
  });

  it("README's values table documents every value of values.yaml with its default, and nothing else", () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Values'));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| `([^`]*)` \|/gm)].map((m) => ({
      key: m[1] as string,
      defaultJson: m[2] as string,
    }));
    expect(rows.length).toBeGreaterThan(10);

    const at = (path: string): unknown =>
      path.split('.').reduce<unknown>((node, key) => {
        if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
        return (node as Record<string, unknown>)[key];
      }, values);
    const leaves: string[] = [];
    const walk = (node: unknown, path: string) => {
      const isMap = node !== null && typeof node === 'object' && !Array.isArray(node);
      if (isMap && Object.keys(node).length > 0) {
        for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
      } else leaves.push(path);
    };
    walk(values, '');

    const keys = rows.map((r) => r.key);
    expect(
      keys.filter((k, i) => keys.indexOf(k) !== i),
      'rows documented twice',
    ).toEqual([]);
    for (const { key, defaultJson } of rows) {
      const value = at(key);
      expect(value, `README documents ${key}, which values.yaml does not have`).not.toBeUndefined();
      expect(JSON.parse(defaultJson), `README's default of ${key}`).toEqual(value);
    }
    const undocumented = leaves.filter((leaf) => !keys.some((k) => leaf === k || leaf.startsWith(`${k}.`)));
    expect(undocumented, 'values.yaml keys missing from the README table').toEqual([]);
  });

  it('every flag the chart passes is one the component accepts (its --help)', async () => {
    expect(existsSync(eddyJs), `${eddyJs} is missing: run pnpm run build first`).toBe(true);
    const help = new Map<string, string>();
    const run = promisify(execFile);
    const variants = [
      await template(withKafka()),
      await template(
        withKafka(
          'webhook.enabled=false',
          'sources.enabled=false',
          'controller.eventTypeAutoCreate=true',
          'ingress.requestLimits.maxBodyBytes=4194304',
          'ingress.requestLimits.maxBatchEvents=50',
          'ingress.requestLimits.maxHeaderBytes=32768',
          'ingress.requestLimits.requestTimeoutMs=10000',
        ),
      ),
    ];
    let checked = 0;
    for (const objects of variants) {
      for (const deployment of deployments(objects)) {
        const [command, ...args] = containerOf(deployment).args as string[];
        if (!command) throw new Error(`${deployment.metadata.name} has no args`);
        if (!help.has(command)) {
          const { stdout, stderr } = await run(process.execPath, [
            ...COMPONENT_NODE_FLAGS,
            eddyJs,
            command,
            '--help',
          ]);
          help.set(command, stdout + stderr);
        }
        const text = help.get(command) ?? '';
        for (const flag of args.filter((a) => a.startsWith('--'))) {
          checked++;
          expect(
            new RegExp(`(^|[\\s,])${flag}(?=[\\s=]|$)`, 'm').test(text),
            `eddy ${command} does not take ${flag}`,
          ).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    const controllerArgs = (objects: (typeof variants)[number]) =>
      deployments(objects)
        .filter((d) => d.metadata.name.endsWith('-controller'))
        .flatMap((d) => containerOf(d).args as string[]);
    expect(controllerArgs(variants[0] ?? [])).not.toContain('--eventtype-auto-create');
    expect(controllerArgs(variants[1] ?? [])).toContain('--eventtype-auto-create');
    // ingress.requestLimits: each given limit as its flag, an integer (helm reads numbers as floats).
    const ingressArgs = (objects: (typeof variants)[number]) =>
      deployments(objects)
        .filter((d) => d.metadata.name.endsWith('-ingress'))
        .flatMap((d) => containerOf(d).args as string[]);
    expect(ingressArgs(variants[0] ?? []).filter((a) => a.startsWith('--ingress-'))).toEqual([]);
    const limited = ingressArgs(variants[1] ?? []);
    expect(flagValue(limited, '--ingress-max-body-bytes')).toBe('4194304');
    expect(flagValue(limited, '--ingress-max-batch-events')).toBe('50');
    expect(flagValue(limited, '--ingress-max-header-bytes')).toBe('32768');
    expect(flagValue(limited, '--ingress-request-timeout-ms')).toBe('10000');
  });
});

// ---------------------------------------------------------------------------------------------

describe('helm lint and helm template', SLOW, () => {
  it('lints clean (no warning, no error) with the defaults and with every option on', async () => {
    const variants = [
      withKafka(),
      withKafka('metrics.serviceMonitor.enabled=true', 'webhook.enabled=false', 'sources.enabled=false'),
      withKafka(
        'kafka.tls.enabled=true',
        'kafka.tls.caSecret=kafka-ca',
        'kafka.sasl.mechanism=SCRAM-SHA-512',
        'kafka.sasl.secretName=kafka-user',
        'contractToken.existingSecret=my-token',
        'imagePullSecrets[0].name=registry',
        'podAnnotations.team=events',
        'controller.nodeSelector.pool=system',
        'controller.eventTypeAutoCreate=true',
      ),
    ];
    for (const sets of variants) {
      const res = await helm(['lint', '--strict', CHART, ...sets.flatMap((s) => ['--set', s])]);
      const out = ok(res, `helm lint ${sets.join(' ')}`);
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(out).toContain('0 chart(s) failed');
    }
  });

  it('tls.secretName: the ingress, router and sources serve HTTPS from the mounted Secret; the controller publishes https addresses with its ca.crt', async () => {
    const objects = await template(
      withKafka('tls.secretName=eddy-tls', 'metrics.serviceMonitor.enabled=true'),
    );
    for (const component of ['ingress', 'serving', 'sources']) {
      const deployment = find(objects, 'Deployment', `eddy-${component}`)!;
      const args = containerOf(deployment).args as string[];
      expect(flagValue(args, '--tls-cert'), component).toBe('/etc/eddy/tls/tls.crt');
      expect(flagValue(args, '--tls-key'), component).toBe('/etc/eddy/tls/tls.key');
      expect(deployment.spec.template.spec.volumes).toContainEqual({
        name: 'serving-tls',
        secret: { secretName: 'eddy-tls' },
      });
    }
    const ingress = find(objects, 'Deployment', 'eddy-ingress')!;
    expect(containerOf(ingress).readinessProbe.httpGet).toEqual({
      path: '/readyz',
      port: 'https',
      scheme: 'HTTPS',
    });
    expect(find(objects, 'Service', 'eddy-ingress')!.spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
    ]);
    const controller = containerOf(find(objects, 'Deployment', 'eddy-controller')!).args as string[];
    expect(flagValue(controller, '--ingress-url')).toBe('https://eddy-ingress.eddy-system.svc.cluster.local');
    expect(flagValue(controller, '--router-url')).toBe('https://eddy-serving.eddy-system.svc.cluster.local');
    expect(flagValue(controller, '--ingress-ca')).toBe('/etc/eddy/tls/ca.crt');
    const plain = await template(withKafka());
    expect(containerOf(find(plain, 'Deployment', 'eddy-ingress')!).args).not.toContain('--tls-cert');
  });

  it('refuses to render without Kafka, or with Kafka settings that cannot work, saying what to set', async () => {
    const failing: [string[], string][] = [
      [[], 'kafka.bootstrapServers is required'],
      // values.schema.json: a misspelt key or a value out of range is named, not ignored
      [withKafka('kafka.sasl.mechanism=MD5', 'kafka.sasl.secretName=s'), "at '/kafka/sasl/mechanism'"],
      [withKafka('controller.replica=3'), "at '/controller/replica'"],
      [withKafka('sources.replicas=2'), "at '/sources/replicas'"],
      [withKafka('logLevel=verbose'), "at '/logLevel'"],
      [withKafka('kafka.sasl.mechanism=PLAIN'), 'kafka.sasl.secretName is required'],
      [withKafka('kafka.sasl.secretName=s'), 'kafka.sasl.mechanism is empty'],
      [withKafka('kafka.tls.caSecret=ca'), 'kafka.tls.enabled is false'],
    ];
    for (const [sets, message] of failing) {
      const res = await helm(['template', 'eddy', CHART, ...sets.flatMap((s) => ['--set', s])]);
      expect(res.code, `helm template ${sets.join(' ')} should fail`).not.toBe(0);
      expect(res.stderr).toContain(message);
    }
  });

  it('renders each component as its own ServiceAccount, Service, Deployment and PodDisruptionBudget', async () => {
    const objects = await template(withKafka(), 'ns1', 'rel');
    for (const c of COMPONENTS) {
      const name = `rel-eddy-${c}`;
      for (const kind of ['ServiceAccount', 'Service', 'Deployment', 'PodDisruptionBudget'])
        expect(find(objects, kind, name), `${kind} ${name}`).toBeDefined();
      const d = find(objects, 'Deployment', name) as KubeObject;
      const pod = d.spec.template;
      expect(pod.spec.serviceAccountName).toBe(name);
      // Only the components with RBAC get an API token.
      expect(pod.spec.automountServiceAccountToken).toBe(!['ingress', 'dispatcher'].includes(c));
      expect(pod.metadata.annotations['prometheus.io/scrape']).toBe('true');
      expect(pod.metadata.annotations['prometheus.io/path']).toBe('/metrics');
      const container = containerOf(d);
      const metricsPort = Number(pod.metadata.annotations['prometheus.io/port']);
      const probePort = container.ports.find(
        (p: { name: string }) => p.name === container.livenessProbe.httpGet.port,
      );
      expect(probePort?.containerPort, `${c}: /metrics is on the probes' port`).toBe(metricsPort);
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.image).toBe('eddy:0.1.0');
      expect(container.env).toContainEqual({
        name: 'EDDY_CONTRACT_TOKEN',
        valueFrom: { secretKeyRef: { name: 'rel-eddy-contract-token', key: 'token' } },
      });
      expect(find(objects, 'ServiceMonitor', name)).toBeUndefined();
    }
    // Eddy's OIDC signing key: generated as an ECDSA key, mounted where the signers read it.
    const key = find(objects, 'Secret', 'rel-eddy-oidc-signing-key') as KubeObject;
    expect(Buffer.from(key.data?.['signing-key.pem'] ?? '', 'base64').toString()).toContain(
      'BEGIN EC PRIVATE KEY',
    );
    for (const c of ['controller', 'dispatcher', 'sources']) {
      const container = containerOf(find(objects, 'Deployment', `rel-eddy-${c}`) as KubeObject);
      expect(container.env).toContainEqual({
        name: 'EDDY_OIDC_SIGNING_KEY',
        value: '/etc/eddy/oidc/signing-key.pem',
      });
      expect(container.env).toContainEqual({
        name: 'EDDY_OIDC_ISSUER',
        value: 'http://rel-eddy-controller.ns1.svc.cluster.local:8080',
      });
      expect(container.volumeMounts).toContainEqual({
        name: 'oidc-signing-key',
        mountPath: '/etc/eddy/oidc',
        readOnly: true,
      });
    }
    const args = (c: string) => containerOf(find(objects, 'Deployment', `rel-eddy-${c}`) as KubeObject).args;
    const controller = args('controller');
    expect(controller[0]).toBe('controller');
    expect(flagValue(controller, '--kafka')).toBe(KAFKA);
    expect(flagValue(controller, '--ingress-url')).toBe('http://rel-eddy-ingress.ns1.svc.cluster.local');
    expect(flagValue(controller, '--router-url')).toBe('http://rel-eddy-serving.ns1.svc.cluster.local');
    expect(flagValue(controller, '--webhook-service')).toBe('ns1/rel-eddy-webhook');
    expect(controller).toContain('--external-sources');
    const feed = 'http://rel-eddy-controller.ns1.svc.cluster.local:8080/v1/contract';
    expect(flagValue(args('ingress'), '--contract')).toBe(`${feed}/broker`);
    expect(flagValue(args('dispatcher'), '--contract')).toBe(`${feed}/broker`);
    expect(flagValue(args('serving'), '--contract')).toBe(`${feed}/serving`);
    expect(flagValue(args('sources'), '--contract')).toBe(`${feed}/sources`);
    // The URLs the controller hands out name Services that exist, on the ports they serve.
    const servicePort = (c: string) =>
      (find(objects, 'Service', `rel-eddy-${c}`) as KubeObject).spec.ports.map(
        (p: { port: number }) => p.port,
      );
    expect(servicePort('ingress')).toContain(80);
    expect(servicePort('serving')).toContain(80);
    expect(servicePort('controller')).toContain(8080);
    // The data plane goes to the leader alone (only it serves the feeds); the webhook to every replica.
    const selector = (n: string) => (find(objects, 'Service', n) as KubeObject).spec.selector;
    expect(selector('rel-eddy-controller')).toMatchObject({ 'eddy.dev/leader': 'true' });
    expect(selector('rel-eddy-webhook')).not.toHaveProperty('eddy.dev/leader');
    for (const c of ['serving', 'sources']) {
      const d = find(objects, 'Deployment', `rel-eddy-${c}`) as KubeObject;
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.strategy.type).toBe('Recreate');
    }
    // No webhook configuration in the chart: only a running controller registers one.
    expect(objects.filter((o) => o.kind.endsWith('WebhookConfiguration'))).toEqual([]);
    // Least privilege: one Lease by name, the webhook configurations by name.
    const role = find(objects, 'Role', 'rel-eddy-controller-leader-election') as KubeObject;
    expect(role.rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: ['rel-eddy-controller'],
      verbs: ['get', 'update'],
    });
    expect(flagValue(controller, '--lease-name')).toBe('rel-eddy-controller');
    const controllerRole = find(objects, 'ClusterRole', 'rel-eddy-controller') as KubeObject;
    for (const rule of controllerRole.rules ?? []) {
      expect(rule.resources, 'no wildcard resources').not.toContain('*');
      if (rule.apiGroups?.includes('admissionregistration.k8s.io'))
        expect(rule.resourceNames).toHaveLength(1);
    }
  });

  it('renders the options: ServiceMonitors, no webhook, sources in the controller, Kafka TLS/SASL as env', async () => {
    const objects = await template(
      withKafka(
        'metrics.serviceMonitor.enabled=true',
        'webhook.enabled=false',
        'sources.enabled=false',
        'kafka.tls.enabled=true',
        'kafka.tls.caSecret=kafka-ca',
        'kafka.sasl.mechanism=PLAIN',
        'kafka.sasl.secretName=kafka-user',
        'logLevel=debug',
      ),
      'ns1',
      'rel',
    );
    expect(objects.filter((o) => o.kind === 'ServiceMonitor').map((o) => o.metadata.name)).toHaveLength(4);
    expect(find(objects, 'Deployment', 'rel-eddy-sources')).toBeUndefined();
    expect(find(objects, 'Secret', 'rel-eddy-webhook')).toBeUndefined();
    expect(find(objects, 'Service', 'rel-eddy-webhook')).toBeUndefined();
    const controller = containerOf(find(objects, 'Deployment', 'rel-eddy-controller') as KubeObject);
    expect(controller.args).toContain('--no-webhook');
    expect(controller.args).not.toContain('--external-sources');
    expect(flagValue(controller.args, '--log-level')).toBe('debug');
    const role = find(objects, 'ClusterRole', 'rel-eddy-controller') as KubeObject;
    expect(role.rules).toContainEqual({
      apiGroups: [''],
      resources: ['serviceaccounts'],
      verbs: ['impersonate'],
    });
    for (const c of ['controller', 'ingress', 'dispatcher', 'serving']) {
      const container = containerOf(find(objects, 'Deployment', `rel-eddy-${c}`) as KubeObject);
      const env = new Map(container.env.map((e: { name: string }) => [e.name, e]));
      expect(env.get('EDDY_KAFKA_TLS_ENABLED'), c).toEqual({ name: 'EDDY_KAFKA_TLS_ENABLED', value: 'true' });
      expect(env.get('EDDY_KAFKA_SASL_MECHANISM'), c).toEqual({
        name: 'EDDY_KAFKA_SASL_MECHANISM',
        value: 'PLAIN',
      });
      expect(env.get('EDDY_KAFKA_SASL_PASSWORD'), c).toEqual({
        name: 'EDDY_KAFKA_SASL_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'kafka-user', key: 'password' } },
      });
      expect(container.volumeMounts).toContainEqual({
        name: 'kafka-ca',
        mountPath: '/etc/eddy/kafka-ca',
        readOnly: true,
      });
    }
  });

  it('applies with kubectl apply --dry-run=server, with the defaults and with the options', async () => {
    const namespace = `chart-dry-${shortId()}`;
    ok(await kubectl(['create', 'namespace', namespace]), 'create namespace');
    try {
      for (const sets of [withKafka(), withKafka('webhook.enabled=false', 'sources.enabled=false')]) {
        const args = ['template', `dry-${shortId()}`, CHART, '--namespace', namespace];
        const manifest = ok(await helm([...args, ...sets.flatMap((s) => ['--set', s])]), 'helm template');
        const applied = ok(
          await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest }),
          'kubectl apply --dry-run=server',
        );
        expect(applied.trim().split('\n').length).toBe(documents(manifest).length);
      }
    } finally {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('a release: install, RBAC, upgrade, uninstall', SLOW, () => {
  const id = shortId();
  const namespace = `chart-${id}`;
  const release = `eddy-${id}`;
  const name = (c: string) => `${release}-${c}`;
  const sa = (c: string) => `system:serviceaccount:${namespace}:${name(c)}`;
  /** What the release installed (`helm get manifest`), for the uninstall check. */
  let manifest: KubeObject[] = [];

  const getJson = async (args: string[]) =>
    JSON.parse(ok(await kubectl([...args, '-o', 'json']), `kubectl get ${args.join(' ')}`));
  const releaseDeployments = async (): Promise<KubeObject[]> =>
    (await getJson(['get', 'deployments', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`]))
      .items;
  const secretData = async (secret: string) =>
    (await getJson(['get', 'secret', secret, '-n', namespace])).data as Record<string, string>;
  const podStates = async () => (await kubectl(['get', 'pods', '-n', namespace, '-o', 'wide'])).stdout;

  beforeAll(async () => {
    ok(await kubectl(['create', 'namespace', namespace]), 'create namespace');
    // As an earlier release or `eddy crds | kubectl apply` would have left them (controller.test.ts
    // applies the same, the same way): the install must take them as they are.
    ok(await kubectl(['apply', '--server-side', '-f', CHART_CRDS_DIR]), 'apply the CRDs');
    ok(
      await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'eddy.dev/crd']),
      'CRDs established',
    );
  });

  afterAll(async () => {
    // Whatever a failed test left: the release, its namespace, its cluster-scoped RBAC. Never the CRDs.
    await helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '60s']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await kubectl([
      'delete',
      'clusterroles,clusterrolebindings',
      '-l',
      `app.kubernetes.io/instance=${release}`,
    ]);
  });

  it('installs with the CRDs already in the cluster, and every Deployment becomes Available', {
    timeout: 300_000,
  }, async () => {
    const res = await helm(
      [
        'install',
        release,
        CHART,
        '--namespace',
        namespace,
        '--set',
        `kafka.bootstrapServers=${KAFKA}`,
        '--wait',
        '--timeout',
        HELM_WAIT,
      ],
      { timeoutMs: 280_000 },
    );
    if (res.code !== 0) throw new Error(`helm install failed:\n${res.stderr}\n${await podStates()}`);
    manifest = documents(
      ok(await helm(['get', 'manifest', release, '--namespace', namespace]), 'get manifest'),
    );
    const found = await releaseDeployments();
    expect(found.map((d) => d.metadata.name).sort()).toEqual(COMPONENTS.map(name).sort());
    for (const d of found) {
      const available = d.status.conditions.find((c: { type: string }) => c.type === 'Available');
      expect(available?.status, `${d.metadata.name} Available`).toBe('True');
      expect(d.status.readyReplicas).toBe(d.spec.replicas);
    }
    // Every CRD of the chart is there, whether Helm created it now or found it.
    const crds = ok(await kubectl(['get', 'crds', '-o', 'name']), 'get crds');
    for (const file of readdirSync(CHART_CRDS_DIR))
      expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${file.replace(/\.yaml$/, '')}`);
  });

  it('grants each ServiceAccount what its component calls and no more', async () => {
    const other = `chart-other-${id}`;
    const can = async (user: string, args: string[]) => {
      const res = await kubectl(['auth', 'can-i', ...args, `--as=${user}`]);
      return res.stdout.trim() === 'yes';
    };
    const cases: [string, string[], boolean][] = [
      // controller: every Eddy kind everywhere, its status and finalizers
      ['controller', ['list', 'brokers.eventing.knative.dev', '--all-namespaces'], true],
      ['controller', ['watch', 'kafkasources.sources.knative.dev', '--all-namespaces'], true],
      ['controller', ['patch', 'triggers.eventing.knative.dev', '--subresource=status', '-n', other], true],
      [
        'controller',
        ['update', 'subscriptions.messaging.knative.dev', '--subresource=finalizers', '-n', other],
        true,
      ],
      ['controller', ['create', 'revisions.serving.knative.dev', '-n', other], true],
      ['controller', ['delete', 'subscriptions.messaging.knative.dev', '-n', other], true],
      ['controller', ['watch', 'secrets', '--all-namespaces'], true],
      ['controller', ['list', 'configmaps', '--all-namespaces'], true],
      ['controller', ['create', 'events', '-n', other], true],
      ['controller', ['patch', 'events', '-n', other], true],
      ['controller', ['create', 'leases.coordination.k8s.io', '-n', namespace], true],
      ['controller', ['update', `leases.coordination.k8s.io/${name('controller')}`, '-n', namespace], true],
      ['controller', ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', namespace], false],
      ['controller', ['create', 'leases.coordination.k8s.io', '-n', other], false],
      // its own Pod's eddy.dev/leader label, in its namespace only
      ['controller', ['patch', 'pods', '-n', namespace], true],
      ['controller', ['patch', 'pods', '-n', other], false],
      ['controller', ['patch', 'validatingwebhookconfigurations/eddy-validation'], true],
      ['controller', ['patch', 'validatingwebhookconfigurations/someone-elses'], false],
      ['controller', ['delete', 'mutatingwebhookconfigurations/eddy-defaulting'], false],
      ['controller', ['create', 'secrets', '-n', other], false],
      ['controller', ['create', 'deployments.apps', '-n', other], false],
      ['controller', ['impersonate', 'serviceaccounts', '-n', other], false],
      ['controller', ['update', 'customresourcedefinitions.apiextensions.k8s.io'], false],
      // serving: the Revisions' workloads
      ['serving', ['create', 'deployments.apps', '-n', other], true],
      ['serving', ['patch', 'deployments.apps', '--subresource=scale', '-n', other], true],
      ['serving', ['delete', 'services', '-n', other], true],
      ['serving', ['watch', 'pods', '--all-namespaces'], true],
      ['serving', ['list', 'endpointslices.discovery.k8s.io', '--all-namespaces'], true],
      ['serving', ['get', 'revisions.serving.knative.dev', '-n', other], true],
      ['serving', ['patch', 'revisions.serving.knative.dev', '-n', other], false],
      ['serving', ['delete', 'pods', '-n', other], false],
      ['serving', ['list', 'secrets', '--all-namespaces'], false],
      // sources: act as an ApiServerSource's ServiceAccount, nothing of its own
      ['sources', ['impersonate', 'serviceaccounts', '-n', other], true],
      ['sources', ['list', 'pods', '--all-namespaces'], false],
      ['sources', ['list', 'secrets', '--all-namespaces'], false],
      ['sources', ['impersonate', 'users'], false],
      // ingress, dispatcher: no API access (and no token mounted)
      ['ingress', ['list', 'brokers.eventing.knative.dev', '--all-namespaces'], false],
      ['ingress', ['get', 'secrets', '-n', namespace], false],
      ['dispatcher', ['list', 'triggers.eventing.knative.dev', '--all-namespaces'], false],
      ['dispatcher', ['get', 'secrets', '-n', namespace], false],
    ];
    const wrong: string[] = [];
    for (const [component, args, expected] of cases) {
      if ((await can(sa(component), args)) !== expected)
        wrong.push(`${component} ${expected ? 'cannot' : 'can'} ${args.join(' ')}`);
    }
    expect(wrong).toEqual([]);

    // The webhook configurations exactly as the controller registers them (server-side apply),
    // applied as its ServiceAccount; a dry run, so the cluster never calls a webhook that is not there.
    const configs = webhookConfigurations({
      service: { namespace, name: name('webhook') },
      caBundle: Buffer.from('ca').toString('base64'),
    });
    const applied = await kubectl(
      [
        'apply',
        '--server-side',
        '--dry-run=server',
        '--field-manager=eddy-controller',
        `--as=${sa('controller')}`,
        '-f',
        '-',
      ],
      { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: configs }) },
    );
    ok(applied, 'the webhook configurations as the controller');
  });

  it('runs eddy controller with its ServiceAccount token: it leads, writes status, finalizers and Events, and nothing is refused', async () => {
    // The chart's controller, as a local process (nothing runs in kwok's Pods) with the token the Pod
    // would get: proof that the ClusterRole and Role cover what it calls, not only what can-i says.
    const token = ok(
      await kubectl(['create', 'token', name('controller'), '-n', namespace, '--duration=10m']),
      'create token',
    ).trim();
    const admin = JSON.parse(
      ok(await kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json']), 'config view'),
    );
    admin.users = [{ name: admin.users[0].name, user: { token } }];
    const dir = mkdtempSync(join(tmpdir(), 'eddy-chart-sa-'));
    const kubeconfig = join(dir, 'kubeconfig.json');
    writeFileSync(kubeconfig, JSON.stringify(admin), { mode: 0o600 });
    const work = `chart-work-${id}`;
    ok(await kubectl(['create', 'namespace', work]), 'create namespace');
    const identity = `chart-test-${id}`;
    let controller: NodeProcess | undefined;
    try {
      controller = spawnNodeScript(eddyJs, [
        'controller',
        '--kubeconfig',
        kubeconfig,
        '--kafka',
        inject('kafkaBrokers').join(','),
        '--ingress-url',
        `http://${name('ingress')}.${namespace}.svc.cluster.local`,
        '--port',
        '0',
        '--namespace',
        work,
        '--lease-namespace',
        namespace,
        '--lease-name',
        name('controller'),
        '--id',
        identity,
        // The webhook configurations are checked above: registered for real they would judge every
        // other test's objects.
        '--no-webhook',
      ]);
      await controller.waitForLine(/listening on http/, 60_000);
      const trigger = (triggerName: string, filters: unknown[]) => ({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: triggerName, namespace: work },
        spec: { broker: 'default', filters, subscriber: { uri: 'http://127.0.0.1:1/sink' } },
      });
      const objects = [
        {
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Broker',
          metadata: { name: 'default', namespace: work },
        },
        trigger('good', [{ exact: { type: 'x' } }]),
        // CESQL the CRD schema lets through and eddy validate refuses (the webhook is off): InvalidSpec.
        trigger('bad', [{ cesql: "type = = 'x'" }]),
      ];
      ok(
        await kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
        }),
        'apply',
      );
      const lease = await waitFor(
        'the Lease held by this controller',
        async () => {
          const res = await kubectl(['get', 'lease', name('controller'), '-n', namespace, '-o', 'json']);
          const held = res.code === 0 ? JSON.parse(res.stdout) : undefined;
          return held?.spec?.holderIdentity === identity ? held : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(lease.spec.holderIdentity).toBe(identity);
      const reason = (o: KubeObject) =>
        o.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.reason as string | undefined;
      await waitFor(
        'InvalidSpec on the bad Trigger, the finalizer on the good one, a status on the Broker',
        async () => {
          const items: KubeObject[] = (await getJson(['get', 'brokers,triggers', '-n', work])).items;
          const of = (kind: string, n: string) => items.find((o) => o.kind === kind && o.metadata.name === n);
          const good = of('Trigger', 'good') as
            | (KubeObject & { metadata: { finalizers?: string[] } })
            | undefined;
          return reason(of('Trigger', 'bad') as KubeObject) === 'InvalidSpec' &&
            good?.metadata.finalizers?.includes('eddy.dev/consumer-group') &&
            of('Broker', 'default')?.status?.conditions?.length
            ? true
            : undefined;
        },
        { timeoutMs: 60_000 },
      );
      await waitFor(
        'the InvalidSpec Event',
        async () => {
          const events: { reason: string; involvedObject: { name: string } }[] = (
            await getJson(['get', 'events', '-n', work])
          ).items;
          return events.some((e) => e.reason === 'InvalidSpec' && e.involvedObject.name === 'bad')
            ? true
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(controller.output.filter((l) => /forbidden|\b403\b/i.test(l))).toEqual([]);
    } finally {
      // Stopped first: a running controller would put the finalizer back. The finalizer outlives it;
      // taken off so the namespace can go.
      controller?.child.kill('SIGKILL');
      await controller?.exited;
      await kubectl([
        'patch',
        'trigger',
        'good',
        '-n',
        work,
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ]);
      await kubectl(['delete', 'namespace', work, '--wait=false']);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands every controller replica a webhook certificate the controller takes as it is', async () => {
    const data = await secretData(name('webhook'));
    const dir = mkdtempSync(join(tmpdir(), 'eddy-chart-webhook-'));
    try {
      for (const file of ['ca.crt', 'tls.crt', 'tls.key'])
        writeFileSync(join(dir, file), Buffer.from(data[file] ?? '', 'base64'));
      const before = statSync(join(dir, 'tls.crt')).mtimeMs;
      // The names the controller asks for with --host 0.0.0.0 --webhook-service <ns>/<name>.
      const certs = await loadOrCreateWebhookCertificates(dir, [`${name('webhook')}.${namespace}.svc`]);
      expect(certs.caPem).toBe(Buffer.from(data['ca.crt'] ?? '', 'base64').toString('utf8'));
      expect(statSync(join(dir, 'tls.crt')).mtimeMs, 'the controller would rewrite the mounted files').toBe(
        before,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('upgrades with a changed value: every Deployment rolls, the token and certificate stay', {
    timeout: 300_000,
  }, async () => {
    const before = new Map((await releaseDeployments()).map((d) => [d.metadata.name, d]));
    const token = await secretData(name('contract-token'));
    const certificate = await secretData(name('webhook'));
    const signingKey = await secretData(name('oidc-signing-key'));
    const res = await helm(
      [
        'upgrade',
        release,
        CHART,
        '--namespace',
        namespace,
        '--reuse-values',
        '--set',
        'logLevel=debug',
        '--set',
        'ingress.resources.requests.cpu=200m',
        '--wait',
        '--timeout',
        HELM_WAIT,
      ],
      { timeoutMs: 280_000 },
    );
    if (res.code !== 0) throw new Error(`helm upgrade failed:\n${res.stderr}\n${await podStates()}`);
    const after = await releaseDeployments();
    expect(after).toHaveLength(COMPONENTS.length);
    for (const d of after) {
      const old = before.get(d.metadata.name) as KubeObject;
      const revision = (o: KubeObject) =>
        Number(o.metadata.annotations?.['deployment.kubernetes.io/revision']);
      expect(d.metadata.generation, d.metadata.name).toBeGreaterThan(old.metadata.generation ?? 0);
      expect(revision(d), `${d.metadata.name}: a new ReplicaSet`).toBe(revision(old) + 1);
      expect(flagValue(containerOf(d).args, '--log-level')).toBe('debug');
      expect(d.status.updatedReplicas).toBe(d.spec.replicas);
      expect(d.status.observedGeneration).toBe(d.metadata.generation);
    }
    const ingress = after.find((d) => d.metadata.name === name('ingress')) as KubeObject;
    expect(containerOf(ingress).resources.requests.cpu).toBe('200m');
    expect(await secretData(name('contract-token'))).toEqual(token);
    expect(await secretData(name('webhook'))).toEqual(certificate);
    expect(await secretData(name('oidc-signing-key'))).toEqual(signingKey);
  });

  it('uninstalls leaving nothing of the release behind but the CRDs', { timeout: 180_000 }, async () => {
    expect(manifest.length).toBeGreaterThan(20);
    // Webhook configurations registered as the controller does with --webhook-owner (the chart passes
    // its ClusterRole): uninstalling deletes that ClusterRole, and the garbage collector them. Scoped to
    // a namespace nothing uses, so no other test's apply ever reaches a webhook that is not there.
    const role = JSON.parse(
      ok(await kubectl(['get', 'clusterrole', name('controller'), '-o', 'json']), 'get clusterrole'),
    ) as { metadata: { uid: string } };
    const owned = webhookConfigurations(
      { service: { namespace, name: name('webhook') }, caBundle: Buffer.from('ca').toString('base64') },
      { namespace: `unused-${id}`, owner: { name: name('controller'), uid: role.metadata.uid } },
    );
    ok(
      await kubectl(['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: owned }),
      }),
      'apply owned webhook configurations',
    );
    ok(
      await helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '120s'], {
        timeoutMs: 150_000,
      }),
      'helm uninstall',
    );
    const left: string[] = [];
    for (const o of manifest) {
      const scope = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
      // `Kind.group` (`Kind` for the core API): unambiguous whatever else the cluster serves.
      const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
      const res = await kubectl(['get', `${o.kind}${group}`, o.metadata.name, ...scope]);
      if (!res.stderr.includes('NotFound'))
        left.push(`${o.kind} ${o.metadata.name}: ${res.stdout}${res.stderr}`);
    }
    expect(left).toEqual([]);
    // What the release's objects made (ReplicaSets, Pods) goes too, and Helm keeps no release record.
    const selector = `app.kubernetes.io/instance=${release}`;
    const deadline = Date.now() + 90_000;
    let remaining = '';
    do {
      remaining = ok(
        await kubectl([
          'get',
          'replicasets,pods,endpointslices',
          '-n',
          namespace,
          '-l',
          selector,
          '-o',
          'name',
        ]),
        'get leftovers',
      ).trim();
      if (remaining === '') break;
      await new Promise((r) => setTimeout(r, 1000));
    } while (Date.now() < deadline);
    expect(remaining).toBe('');
    const namespaced =
      'all,serviceaccounts,secrets,configmaps,roles,rolebindings,poddisruptionbudgets,leases';
    expect(
      ok(await kubectl(['get', namespaced, '-n', namespace, '-l', selector, '-o', 'name']), 'get').trim(),
    ).toBe('');
    const clusterScoped =
      'clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations';
    expect(ok(await kubectl(['get', clusterScoped, '-l', selector, '-o', 'name']), 'get').trim()).toBe('');
    expect(
      ok(await kubectl(['get', 'secrets', '-n', namespace, '-l', 'owner=helm', '-o', 'name']), 'get').trim(),
    ).toBe('');
    await waitFor(
      'the owned webhook configurations garbage-collected',
      async () => {
        const res = await kubectl([
          'get',
          'mutatingwebhookconfigurations,validatingwebhookconfigurations',
          '-o',
          'name',
        ]);
        return res.code === 0 && !res.stdout.includes(`unused-${id}`) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const crds = ok(await kubectl(['get', 'crds', '-o', 'name']), 'get crds');
    for (const file of readdirSync(CHART_CRDS_DIR))
      expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${file.replace(/\.yaml$/, '')}`);
  });
});
