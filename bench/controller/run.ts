// Controller benchmark: `eddy controller` against a real API server (the test harness's etcd +
// kube-apiserver) and a real Kafka, N Triggers applied at once. Not a test: it never gates CI.
//
//   pnpm run build && node bench/controller/run.ts [options]      (pnpm run bench:controller)
//
// Per phase (--triggers, then --big if > 0), in a namespace of its own with a controller process of
// its own (`node packages/cli/dist/main.js controller --namespace <ns>`, the built CLI, as deployed):
//   1. one Broker (its delivery's deadLetterSink a uri, so it resolves), waited Ready;
//   2. N Triggers (subscriber uri http://127.0.0.1:<port>/t<i>) created at once: by default POSTed
//      to the API server directly, --concurrency at a time (--apply kubectl: one
//      `kubectl apply --server-side -f` of a List instead, which kubectl sends one by one);
//   3. a watch on the namespace's Triggers (started before the first create) times when the API
//      server has them all and when every one is Ready=True with observedGeneration = generation;
//   4. then, until the controller's write counter stays still for --settle seconds: what it cost
//      (its CPU seconds and peak RSS from /proc, the API server's and etcd's CPU seconds, the
//      controller's writes by kind from its /metrics, the MODIFIED events the watch saw);
//   5. the contract feed (<controller>/v1/contract/broker): a follower long-polls it as a data-plane
//      process does (counts the generations it sees), and at the end the full contract is fetched
//      with the data plane's query (after=-1) --serve-runs times: its JSON size against Knative's
//      1 MiB ConfigMap limit, and the time to serve it.
// --data-plane adds `eddy ingress` + `eddy dispatcher` processes following the feed; the phase then
// also waits until both run the last contract generation. See README.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { customResourceDefinitions } from '@eddy/api';
import { computeContract } from '@eddy/broker';
import { COMPONENT_NODE_FLAGS, ContractFeed, serveContractFeed } from '@eddy/runtime';
import { request } from 'undici';
import { freePorts } from '../../test/harness/free-ports.ts';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { type KubernetesCluster, startKubernetesControlPlane } from '../../test/harness/kubernetes.ts';
import { tcpSocketRows } from '../../test/harness/listening-ports.ts';
import { type PeerProcess, spawnPeer, waitForLogLine } from '../../test/harness/processes.ts';
import { memoryOf, NODE, sleep } from '../broker/procs.ts';
import { publishResults } from '../eventlog/measure.ts';
import { progress, ticking } from '../progress.ts';
import { type Api, bounded, isReady, type KubeObject, kubeApi, type WatchEvent } from './kube.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EDDY = path.join(ROOT, 'packages/cli/dist/main.js');
const GROUP = '/apis/eventing.knative.dev/v1';
const CONFIGMAP_LIMIT = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    triggers: { type: 'string', default: '1000' },
    big: { type: 'string', default: '0' },
    contract: { type: 'string', default: '0' },
    feed: { type: 'string', default: '0' },
    apply: { type: 'string', default: 'api' },
    concurrency: { type: 'string', default: '32' },
    'data-plane': { type: 'boolean', default: false },
    settle: { type: 'string', default: '10' },
    'serve-runs': { type: 'string', default: '5' },
    'ready-timeout': { type: 'string', default: '1800' },
    json: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: node bench/controller/run.ts [options]
  --triggers N         Triggers applied at once in the first phase (1000)
  --big N              a second phase with N Triggers (0 = skip; the acceptance's 10000)
  --feed N             the contract mechanism alone, in this process: the contract of a Broker and N
                       Triggers (computeContract, as the controller computes it) published on a ContractFeed
                       served by serveContractFeed (the controller's feed routes): size, time to serve (0 = skip)
  --contract N         a contract phase: N Triggers created first, then a controller started on them:
                       time to a contract with N routes, its size and time to serve (0 = skip)
  --apply api|kubectl  api: POST each Trigger to the API server, --concurrency at a time (default);
                       kubectl: one \`kubectl apply --server-side -f\` of a List (kubectl sends them one by one)
  --concurrency N      creates in flight with --apply api (32)
  --data-plane         also run \`eddy ingress\` + \`eddy dispatcher\` following the contract feed
  --settle S           after all are Ready, wait until the controller's writes stay still this long (10)
  --serve-runs N       fetches of the full contract, timed (5)
  --ready-timeout S    give up on a phase after this long (1800)
  --json FILE          where the results go as JSON (default: <run dir>/results.json)
  --no-write           print only, do not append to bench/RESULTS.md
Kafka: KAFKA_BROKERS, else the test harness starts one. The cluster: the test harness's etcd + kube-apiserver.`);
  process.exit(0);
}
const int = (
  name: 'triggers' | 'big' | 'contract' | 'feed' | 'concurrency' | 'settle' | 'serve-runs' | 'ready-timeout',
  min: number,
) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(args[name])}`);
    process.exit(2);
  }
  return n;
};
const TRIGGERS = int('triggers', 0);
const BIG = int('big', 0);
const CONTRACT = int('contract', 0);
const FEED = int('feed', 0);
const CONCURRENCY = int('concurrency', 1);
const SETTLE_MS = int('settle', 1) * 1000;
const SERVE_RUNS = int('serve-runs', 1);
const READY_TIMEOUT_MS = int('ready-timeout', 10) * 1000;
const APPLY = args.apply as 'api' | 'kubectl';
if (APPLY !== 'api' && APPLY !== 'kubectl') {
  console.error(`--apply must be api or kubectl, got ${JSON.stringify(args.apply)}`);
  process.exit(2);
}
const DATA_PLANE = args['data-plane'] ?? false;

// ---------------------------------------------------------------------------------------------
// Processes

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) a process has used so far; NaN when it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Inodes of a process's sockets (its /proc/<pid>/fd links `socket:[inode]`). */
function socketInodes(pid: number | undefined): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1] as string);
    } catch {}
  }
  return out;
}

/** Inodes of the TCP sockets connected to 127.0.0.1:`port` (the client side). */
function connectedTo(port: number): Set<string> {
  const out = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of tcpSocketRows()) if (f[2]?.endsWith(`:${hex}`) && f[9] && f[9] !== '0') out.add(f[9]);
  return out;
}

/**
 * Samples, every 500 ms, the controller's open file descriptors (peak) and which of its sockets are
 * connected to the API server: the distinct ones are the connections it opened (a lower bound: one
 * opened and closed between two samples is missed).
 */
function sampleConnections(controller: { current: { proc: { pid?: number | undefined } } }, apiPort: number) {
  const seen = new Set<string>();
  let peakSockets = 0;
  let peakApi = 0;
  const sample = () => {
    const mine = socketInodes(controller.current.proc.pid);
    peakSockets = Math.max(peakSockets, mine.size);
    let api = 0;
    for (const inode of connectedTo(apiPort))
      if (mine.has(inode)) {
        seen.add(inode);
        api++;
      }
    peakApi = Math.max(peakApi, api);
  };
  sample();
  const before = new Set(seen);
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return {
        opened: [...seen].filter((i) => !before.has(i)).length,
        peakApiConnections: peakApi,
        peakSockets,
      };
    },
  };
}

interface Replica {
  proc: PeerProcess;
  id: string;
  logFile: string;
  /** Last values read while it ran (a dead process's /proc and /metrics are gone). */
  cpu: number;
  writes: Record<string, number>;
}

/**
 * `eddy controller` as a Deployment with one replica runs it: a replica that exits (it lost its
 * Lease) is replaced by a new one, with a new identity (a new Pod name) and the same port, which
 * waits out the old Lease before it leads. CPU seconds and writes add up over the replicas.
 */
class Controller {
  readonly url: string;
  readonly feedUrl: string;
  readonly replicas: Replica[] = [];
  /** When each replacement began leading, ms after performance's origin. */
  readonly restarts: { at: number; reason: string }[] = [];
  #stopping = false;
  #starting: Promise<void> | undefined;

  readonly ns: string;
  readonly argv: string[];
  readonly workDir: string;

  private constructor(ns: string, port: number, argv: string[], workDir: string) {
    this.ns = ns;
    this.argv = argv;
    this.workDir = workDir;
    this.url = `http://127.0.0.1:${port}`;
    this.feedUrl = `${this.url}/v1/contract/broker`;
  }

  static async start(
    ns: string,
    kubeconfig: string,
    brokers: string[],
    ingressPort: number,
    workDir: string,
    waitLeading = true,
  ) {
    const [port] = (await freePorts(1)) as [number];
    const argv = [
      ...['--namespace', ns, '--lease-namespace', ns],
      ...['--kubeconfig', kubeconfig, '--kafka', brokers.join(',')],
      ...['--ingress-url', `http://127.0.0.1:${ingressPort}`, '--port', String(port)],
    ];
    const c = new Controller(ns, port, argv, workDir);
    await c.#startReplica(waitLeading);
    return c;
  }

  get current(): Replica {
    return this.replicas.at(-1) as Replica;
  }

  async #startReplica(waitLeading = true): Promise<void> {
    const id = `bench-${this.ns}-${this.replicas.length}`;
    const logFile = path.join(this.workDir, `controller-${id}.log`);
    const proc = spawnPeer(NODE, [...COMPONENT_NODE_FLAGS, EDDY, 'controller', ...this.argv, '--id', id], {
      outFile: logFile,
      label: 'bench-controller',
    });
    const replica: Replica = { proc, id, logFile, cpu: 0, writes: { total: 0 } };
    this.replicas.push(replica);
    void proc.exited.then(() => {
      if (this.#stopping) return;
      const reason =
        /lost leadership|not renewed for \d+ ms/.exec(readFileSync(logFile, 'utf8'))?.[0] ?? proc.exitReason;
      progress(`controller ${id} exited (${reason}); starting a new replica as a Deployment would`);
      this.restarts.push({ at: performance.now(), reason });
      this.#starting = this.#startReplica().catch((error: unknown) => {
        progress(`FAILED to restart the controller: ${(error as Error).message}`);
      });
    });
    await waitForLogLine(logFile, /listening on http/, proc, Date.now() + 120_000, 'eddy controller');
    if (!waitLeading) return;
    // A replacement waits out its predecessor's Lease (15 s) before it leads.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(
        () => undefined,
      );
      const body = res ? ((await res.json().catch(() => ({}))) as { leading?: boolean }) : {};
      if (body.leading) break;
      if (proc.hasExited) throw new Error(`eddy controller exited (${proc.exitReason}); see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`eddy controller did not lead within 120 s; see ${logFile}`);
      await sleep(100);
    }
  }

  /** CPU seconds of every replica so far. */
  cpu(): number {
    const r = this.current;
    const now = cpuSeconds(r.proc.pid);
    if (Number.isFinite(now)) r.cpu = now;
    return this.replicas.reduce((sum, x) => sum + x.cpu, 0);
  }

  rssMb(): number {
    return memoryOf(this.current.proc.pid).rssMb;
  }

  /** Writes of every replica so far, by kind. */
  async writes(): Promise<Record<string, number>> {
    const r = this.current;
    try {
      r.writes = await writes(this.url);
    } catch {}
    const out: Record<string, number> = {};
    for (const x of this.replicas) for (const [k, v] of Object.entries(x.writes)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#starting;
    for (const r of this.replicas) await r.proc.stop();
  }
}

/** eddy_controller_api_writes_total by `what`, and their sum under `total`. */
async function writes(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = { total: 0 };
  for (const line of text.split('\n')) {
    const m = /^eddy_controller_api_writes_total\{what="(\w+)"\} (\d+(?:\.\d+)?)/.exec(line);
    if (!m) continue;
    out[m[1] as string] = Number(m[2]);
    out.total = (out.total as number) + Number(m[2]);
  }
  return out;
}

interface DataPlane {
  procs: { component: 'ingress' | 'dispatcher'; proc: PeerProcess; logFile: string }[];
}

function startDataPlane(
  feedUrl: string,
  brokers: string[],
  ingressPort: number,
  workDir: string,
  ns: string,
): DataPlane {
  const common = ['--contract', feedUrl, '--log', 'kafka', '--brokers', brokers.join(',')];
  const procs = (['ingress', 'dispatcher'] as const).map((component) => {
    const logFile = path.join(workDir, `${component}-${ns}.log`);
    const port = component === 'ingress' ? String(ingressPort) : '0';
    const proc = spawnPeer(
      NODE,
      [
        ...COMPONENT_NODE_FLAGS,
        EDDY,
        component,
        ...common,
        '--port',
        port,
        '--member-id',
        `${component}-bench`,
      ],
      { outFile: logFile, label: `bench-${component}` },
    );
    return { component, proc, logFile };
  });
  return { procs };
}

/** The last contract generation a data-plane process says it applied (its log), or undefined. */
function appliedGeneration(logFile: string): number | undefined {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {}
  let last: number | undefined;
  for (const m of text.matchAll(/applied contract generation (\d+)/g)) last = Number(m[1]);
  return last;
}

// ---------------------------------------------------------------------------------------------
// The contract feed

interface Seen {
  generation: number;
  bytes: number;
  routes: number;
  at: number;
}

/** Long-polls the feed as a data-plane process does (without reporting as a member) until stopped. */
function followFeed(feedUrl: string): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const abort = new AbortController();
  void (async () => {
    let after = -1;
    while (!abort.signal.aborted) {
      try {
        const res = await request(`${feedUrl}?after=${after}&wait=25000`, {
          signal: abort.signal,
          headersTimeout: 40_000,
          bodyTimeout: 60_000,
        });
        const text = await res.body.text();
        if (res.statusCode === 204) continue;
        // 503: this replica does not lead (yet); not a busy loop meanwhile.
        if (res.statusCode !== 200) {
          await sleep(250);
          continue;
        }
        const contract = JSON.parse(text) as { generation: number; routes: unknown[] };
        after = contract.generation;
        seen.push({
          generation: contract.generation,
          bytes: Buffer.byteLength(text),
          routes: contract.routes.length,
          at: performance.now(),
        });
      } catch {
        if (!abort.signal.aborted) await sleep(250);
      }
    }
  })();
  return { seen, stop: () => abort.abort() };
}

interface Served {
  generation: number;
  routes: number;
  bytes: number;
  /** Wall time of each full fetch (request to last byte), ms. */
  ms: number[];
  /** Time to the response headers, ms (the controller serialises the contract before it sends them). */
  headersMs: number[];
}

/** The full contract with the data plane's query (a process that runs nothing yet), `runs` times. */
async function serveContract(feedUrl: string, runs: number): Promise<Served> {
  const out: Served = { generation: 0, routes: 0, bytes: 0, ms: [], headersMs: [] };
  // A replica that just replaced one is not serving yet (connection refused, then 503 until it leads).
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await request(`${feedUrl}?after=-1`).catch(() => undefined);
    await res?.body.text();
    if (res?.statusCode === 200) break;
    if (Date.now() > deadline)
      throw new Error(`GET ${feedUrl}: no contract within 120 s (${res?.statusCode ?? 'no answer'})`);
    await sleep(250);
  }
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await request(
      `${feedUrl}?member=bench-probe-${i}&component=bench-probe&after=-1&wait=25000`,
      {
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      },
    );
    const headers = performance.now();
    const text = await res.body.text();
    out.ms.push(performance.now() - started);
    out.headersMs.push(headers - started);
    if (res.statusCode !== 200)
      throw new Error(`GET ${feedUrl}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const contract = JSON.parse(text) as { generation: number; routes: unknown[] };
    out.generation = contract.generation;
    out.routes = contract.routes.length;
    out.bytes = Buffer.byteLength(text);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Objects

function broker(ns: string, sinkPort: number) {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: {
      name: 'default',
      namespace: ns,
      annotations: { 'eventing.knative.dev/broker.class': 'Kafka' },
    },
    spec: {
      delivery: {
        retry: 3,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.5S',
        deadLetterSink: { uri: `http://127.0.0.1:${sinkPort}/dead-letters` },
      },
    },
  };
}

/** Trigger i: an exact-match filter on its own type, to its own path of the subscriber. */
function trigger(ns: string, i: number, sinkPort: number) {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: `t${i}`, namespace: ns },
    spec: {
      broker: 'default',
      filter: { attributes: { type: `dev.eddy.bench.t${i}` } },
      subscriber: { uri: `http://127.0.0.1:${sinkPort}/t${i}` },
    },
  };
}

async function kubectl(cluster: KubernetesCluster, argv: string[], input?: string, timeoutMs = 600_000) {
  const r = await cluster.kubectl(argv, { ...(input !== undefined ? { input } : {}), timeoutMs });
  if (r.code !== 0)
    throw new Error(`kubectl ${argv.join(' ')} failed (${r.code}): ${r.stderr.slice(0, 500)}`);
  return r.stdout;
}

/**
 * Watches a kind in a namespace from `rv`: which objects exist and which are Ready for their
 * generation; `until(n)` resolves once n exist and all are Ready.
 */
function tracker(api: Api, ns: string, plural: string, rv: string) {
  const firstSeen = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const ready = new Set<string>();
  const history = new Map<string, string[]>();
  let modified = 0;
  let lastAdded = 0;
  const waiters = new Set<() => void>();
  const abort = new AbortController();
  const onEvent = (e: WatchEvent) => {
    const name = e.object.metadata.name;
    const now = performance.now();
    if (e.type === 'DELETED') {
      firstSeen.delete(name);
      ready.delete(name);
    } else {
      if (!firstSeen.has(name)) {
        firstSeen.set(name, now);
        lastAdded = now;
      }
      if (e.type === 'MODIFIED') modified++;
      // What each stored version said: Ready's status/reason for its generation, and the finalizers.
      const o = e.object as KubeObject;
      const c = o.status?.conditions?.find((x) => x.type === 'Ready');
      const state = `${e.type} gen ${o.metadata.generation} observed ${o.status?.observedGeneration ?? '-'} Ready ${c ? `${c.status}/${c.reason ?? ''}` : '-'} finalizers ${(o.metadata.finalizers ?? []).length}`;
      const h = history.get(name) ?? [];
      h.push(state);
      history.set(name, h);
      if (isReady(e.object as KubeObject)) {
        ready.add(name);
        if (!readyAt.has(name)) readyAt.set(name, now);
      } else ready.delete(name);
    }
    for (const w of waiters) w();
  };
  const failed = api.watch(`${GROUP}/namespaces/${ns}/${plural}`, rv, onEvent, abort.signal);
  return {
    firstSeen,
    readyAt,
    history,
    get modified() {
      return modified;
    },
    get lastAdded() {
      return lastAdded;
    },
    get ready() {
      return ready.size;
    },
    get seen() {
      return firstSeen.size;
    },
    /** Resolves when `check()` holds, checked on every watch event. */
    when(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = () => {
          if (!check()) return;
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(
            new Error(`${what}: not within ${timeoutMs / 1000} s (${ready.size} of ${firstSeen.size} Ready)`),
          );
        }, timeoutMs);
        waiters.add(done);
        failed.catch((error: unknown) => {
          waiters.delete(done);
          clearTimeout(timer);
          reject(error);
        });
      });
    },
    stop: () => abort.abort(),
  };
}

async function resourceVersion(api: Api, ns: string, plural: string): Promise<string> {
  const res = await api.get(`${GROUP}/namespaces/${ns}/${plural}?limit=1`);
  if (res.status !== 200) throw new Error(`list ${plural}: HTTP ${res.status}`);
  return (res.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

// ---------------------------------------------------------------------------------------------
// A phase

interface PhaseResult {
  triggers: number;
  apply: string;
  namespace: string;
  brokerReadySeconds: number;
  /** Apply start to the last create answered (api) / kubectl exited. */
  applySeconds: number;
  /** Apply start to the watch having seen every Trigger. */
  allSeenSeconds: number;
  /** Apply start to every Trigger Ready=True with observedGeneration = generation. */
  readySeconds: number;
  /** Per Trigger, first seen by the watch to Ready: p50, p90, max seconds. */
  perTrigger: { p50: number; p90: number; max: number };
  controller: {
    idleRssMb: number;
    peakRssMb: number;
    rssAfterMb: number;
    cpuToReady: number;
    cpuTotal: number;
  };
  apiserverCpu: number;
  etcdCpu: number;
  /** Controller writes during the phase (Triggers only; the Broker's are before it), by kind. */
  writesAtReady: Record<string, number>;
  writesAfterSettle: Record<string, number>;
  /** MODIFIED watch events on the Triggers (finalizer and status writes the API server stored). */
  modifiedEvents: number;
  /** The controller's connections to the API server opened during the phase (sampled), its peak sockets. */
  connections: { opened: number; peakApiConnections: number; peakSockets: number };
  /** The most common sequences of stored versions a Trigger went through (watch events), with counts. */
  watchPatterns: [string, number][];
  /** Controller replicas replaced (they exited: lost the Lease) before the phase ended. */
  restarts: number;
  settleSeconds: number;
  contract: {
    generationsPublished: number;
    generationsSeen: number;
    bytesSeen: number;
    served: Served;
  };
  dataPlane?: Record<string, number | null>;
  notes: string[];
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : Number.NaN;
const median = (values: number[]) =>
  pct(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const sub = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(a).map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)]));

async function phase(
  n: number,
  cluster: KubernetesCluster,
  api: Api,
  brokers: string[],
  workDir: string,
): Promise<PhaseResult> {
  const ns = `bench-ctl-${n}-${Date.now().toString(36)}`;
  const notes: string[] = [];
  await kubectl(cluster, ['create', 'namespace', ns]);
  const [ingressPort, sinkPort] = (await freePorts(2)) as [number, number];
  progress(`${n} Triggers: namespace ${ns}; starting eddy controller`);
  const controller = await Controller.start(ns, cluster.kubeconfigPath, brokers, ingressPort, workDir);
  const follower = followFeed(controller.feedUrl);
  const dataPlane = DATA_PLANE
    ? startDataPlane(controller.feedUrl, brokers, ingressPort, workDir, ns)
    : undefined;
  const brokerWatch = tracker(api, ns, 'brokers', await resourceVersion(api, ns, 'brokers'));
  const watch = tracker(api, ns, 'triggers', await resourceVersion(api, ns, 'triggers'));
  try {
    // The Broker first: the Triggers' time is theirs alone.
    const b0 = performance.now();
    const created = await api.post(`${GROUP}/namespaces/${ns}/brokers`, broker(ns, sinkPort));
    if (created.status !== 201)
      throw new Error(`create Broker: HTTP ${created.status}: ${JSON.stringify(created.body)}`);
    await brokerWatch.when(() => brokerWatch.ready === 1, 120_000, 'the Broker Ready');
    const brokerReadySeconds = (performance.now() - b0) / 1000;
    progress(`${n} Triggers: Broker Ready in ${brokerReadySeconds.toFixed(2)} s`);
    // Quiet before the measurement: the Broker's status, Event and contract are done.
    await sleep(2000);
    const idleRssMb = controller.rssMb();
    const cpu0 = controller.cpu();
    const api0 = cpuSeconds(cluster.pids['kube-apiserver']);
    const etcd0 = cpuSeconds(cluster.pids.etcd);
    const writes0 = await controller.writes();
    const generation0 = follower.seen.at(-1)?.generation ?? 0;
    const seen0 = follower.seen.length;

    let peakRss = idleRssMb;
    let ticks = 0;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, controller.rssMb() || 0);
      controller.cpu();
      // Its writes too, once a second: a replica that exits takes its counter with it.
      if (++ticks % 4 === 0) void controller.writes();
    }, 250);
    const connections = sampleConnections(controller, Number(new URL(cluster.server).port));
    const t0 = performance.now();
    const since = () => ((performance.now() - t0) / 1000).toFixed(1);
    const status = () =>
      `${watch.seen.toLocaleString('en-US')} in the API, ${watch.ready.toLocaleString('en-US')} Ready; controller ${(controller.cpu() - cpu0).toFixed(1)} CPU s, RSS ${Math.round(controller.rssMb())} MB${controller.restarts.length ? `, ${controller.restarts.length} restart(s)` : ''}`;
    const ticker = setInterval(() => progress(`${n} Triggers, ${since()} s: ${status()}`), 5000);
    let applySeconds: number;
    try {
      if (APPLY === 'api') {
        progress(`${n} Triggers: creating them, ${CONCURRENCY} requests in flight`);
        const failures: string[] = [];
        await bounded(n, CONCURRENCY, async (i) => {
          for (let attempt = 0; ; attempt++) {
            const res = await api.post(`${GROUP}/namespaces/${ns}/triggers`, trigger(ns, i, sinkPort));
            if (res.status === 201) return;
            // 429 (API priority and fairness) and 5xx: again, as client-go would.
            if ((res.status === 429 || res.status >= 500) && attempt < 10) {
              await sleep(100 * 2 ** Math.min(attempt, 5));
              continue;
            }
            failures.push(`t${i}: HTTP ${res.status}`);
            return;
          }
        });
        if (failures.length)
          throw new Error(`${failures.length} creates failed: ${failures.slice(0, 3).join(', ')}`);
      } else {
        progress(`${n} Triggers: one kubectl apply --server-side of a List`);
        const list = {
          apiVersion: 'v1',
          kind: 'List',
          items: Array.from({ length: n }, (_, i) => trigger(ns, i, sinkPort)),
        };
        const file = path.join(workDir, `triggers-${ns}.json`);
        writeFileSync(file, JSON.stringify(list));
        await kubectl(cluster, ['apply', '--server-side', '-f', file], undefined, READY_TIMEOUT_MS);
      }
      applySeconds = (performance.now() - t0) / 1000;
      progress(`${n} Triggers: all created in ${applySeconds.toFixed(1)} s; ${status()}`);
      await watch.when(() => watch.seen === n, 120_000, 'every Trigger seen by the watch');
      const allSeenSeconds = (watch.lastAdded - t0) / 1000;
      // Not all Ready in time: what there is is measured all the same (the contract above all).
      let allReady = true;
      try {
        await watch.when(
          () => watch.ready === n,
          READY_TIMEOUT_MS - (performance.now() - t0),
          `${n} Triggers Ready`,
        );
      } catch (error) {
        allReady = false;
        notes.push(`${(error as Error).message}; measured as it stood then`);
        progress(`${n} Triggers: ${(error as Error).message}`);
      }
      const tReady = performance.now();
      const readySeconds = allReady ? (tReady - t0) / 1000 : Number.NaN;
      const cpuToReady = controller.cpu() - cpu0;
      const writesAtReady = sub(await controller.writes(), writes0);
      if (allReady) progress(`${n} Triggers: all Ready in ${readySeconds.toFixed(1)} s; ${status()}`);

      // Settle: until the controller's write counter stands still for SETTLE_MS.
      let last = writesAtReady.total ?? 0;
      let still = performance.now();
      const settleDeadline = performance.now() + (allReady ? 300_000 : 60_000);
      while (performance.now() - still < SETTLE_MS && performance.now() < settleDeadline) {
        await sleep(500);
        const now = (await controller.writes()).total ?? 0;
        if (now !== last) {
          last = now;
          still = performance.now();
        }
      }
      if (performance.now() >= settleDeadline)
        notes.push('the controller was still writing when the settle wait ended');
      const settleSeconds = (still - tReady) / 1000;
      const writesAfterSettle = sub(await controller.writes(), writes0);

      let dataPlaneResult: Record<string, number | null> | undefined;
      if (dataPlane) {
        const want = follower.seen.at(-1)?.generation ?? 0;
        const deadline = Date.now() + 600_000;
        const at: Record<string, number | null> = {};
        for (const p of dataPlane.procs) {
          while ((appliedGeneration(p.logFile) ?? -1) < want && Date.now() < deadline && !p.proc.hasExited)
            await sleep(250);
          at[`${p.component}AppliedSeconds`] =
            (appliedGeneration(p.logFile) ?? -1) >= want ? (performance.now() - t0) / 1000 : null;
          at[`${p.component}RssMb`] = memoryOf(p.proc.pid).rssMb;
        }
        dataPlaneResult = at;
      }

      clearInterval(rssTimer);
      const conns = connections.stop();
      const hwm = memoryOf(controller.current.proc.pid).hwmMb;
      const cpuTotal = controller.cpu() - cpu0;
      const apiserverCpu = cpuSeconds(cluster.pids['kube-apiserver']) - api0;
      const etcdCpu = cpuSeconds(cluster.pids.etcd) - etcd0;
      const rssAfterMb = controller.rssMb();

      progress(`${n} Triggers: fetching the full contract ${SERVE_RUNS} times`);
      let served: Served;
      try {
        served = await serveContract(controller.feedUrl, SERVE_RUNS);
      } catch (error) {
        // No leader to serve it now: the largest contract the follower got stands in (size only).
        const biggest = [...follower.seen].sort((a, b) => b.routes - a.routes)[0];
        served = {
          generation: biggest?.generation ?? 0,
          routes: biggest?.routes ?? 0,
          bytes: biggest?.bytes ?? 0,
          ms: [],
          headersMs: [],
        };
        notes.push(
          `${(error as Error).message}: the contract size is the follower's largest (${biggest?.routes ?? 0} routes); not timed`,
        );
      }
      if (served.routes !== n) notes.push(`the served contract has ${served.routes} routes, not ${n}`);
      const latest = follower.seen.at(-1);
      const perTrigger = [...watch.readyAt].map(
        ([name, at]) => (at - (watch.firstSeen.get(name) ?? at)) / 1000,
      );
      perTrigger.sort((a, b) => a - b);
      // Which sequences of stored versions the Triggers went through, most common first.
      const patterns = new Map<string, number>();
      for (const h of watch.history.values()) {
        const key = h.join(' -> ');
        patterns.set(key, (patterns.get(key) ?? 0) + 1);
      }
      const watchPatterns = [...patterns].sort((a, b) => b[1] - a[1]).slice(0, 6);
      writeFileSync(
        path.join(workDir, `history-${ns}.json`),
        JSON.stringify(Object.fromEntries(watch.history), null, 1),
      );
      const restarts = controller.replicas
        .map((r) => readFileSync(r.logFile, 'utf8').match(/status write failed/g)?.length ?? 0)
        .reduce((a, b) => a + b, 0);
      for (const x of controller.restarts)
        notes.push(
          `the controller exited ${((x.at - t0) / 1000).toFixed(1)} s after the first create (${x.reason}) and was replaced`,
        );
      if (restarts) notes.push(`${restarts} "status write failed" lines in the controller's log`);
      return {
        triggers: n,
        apply: APPLY === 'api' ? `API, ${CONCURRENCY} in flight` : 'kubectl apply --server-side (List)',
        namespace: ns,
        brokerReadySeconds,
        applySeconds,
        allSeenSeconds,
        readySeconds,
        perTrigger: {
          p50: pct(perTrigger, 0.5),
          p90: pct(perTrigger, 0.9),
          max: perTrigger.at(-1) ?? Number.NaN,
        },
        controller: {
          idleRssMb,
          peakRssMb: Math.max(peakRss, hwm),
          rssAfterMb,
          cpuToReady,
          cpuTotal,
        },
        apiserverCpu,
        etcdCpu,
        writesAtReady,
        writesAfterSettle,
        modifiedEvents: watch.modified,
        watchPatterns,
        restarts: controller.restarts.length,
        connections: conns,
        settleSeconds,
        contract: {
          // A new leader numbers its contracts from its start time: counted for one leader only.
          generationsPublished: controller.restarts.length ? Number.NaN : served.generation - generation0,
          generationsSeen: follower.seen.length - seen0,
          bytesSeen: follower.seen.slice(seen0).reduce((s, x) => s + x.bytes, 0),
          served,
        },
        ...(dataPlaneResult ? { dataPlane: dataPlaneResult } : {}),
        notes:
          latest && latest.generation !== served.generation
            ? [...notes, `the follower's last generation ${latest.generation} != served ${served.generation}`]
            : notes,
      };
    } finally {
      clearInterval(ticker);
      clearInterval(rssTimer);
      connections.stop();
    }
  } finally {
    watch.stop();
    brokerWatch.stop();
    follower.stop();
    for (const p of dataPlane?.procs ?? []) await p.proc.stop();
    await controller.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface FeedResult {
  triggers: number;
  computeMs: number;
  served: Served;
  /** A follower waiting on `after=<current>` to the new generation's last byte, after a publish (ms). */
  nextMs: number[];
}

/**
 * The contract mechanism without the controller around it: the contract of one Broker and N
 * Triggers (the objects the phases create), computed by computeContract as the controller's
 * reconciler does, published on a ContractFeed and served by serveContractFeed (the same fastify
 * routes the controller registers); fetched with the data plane's query.
 */
async function feedPhase(n: number): Promise<FeedResult> {
  const ns = `bench-ctl-${n}-feed0000`;
  const [ingressPort, sinkPort] = (await freePorts(2)) as [number, number];
  const input = (o: ReturnType<typeof broker> | ReturnType<typeof trigger>) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: ns,
    name: o.metadata.name,
    resource: { ...o, metadata: { ...o.metadata, generation: 1 } } as unknown as Record<string, unknown>,
  });
  const inputs = [
    input(broker(ns, sinkPort)),
    ...Array.from({ length: n }, (_, i) => input(trigger(ns, i, sinkPort))),
  ];
  const t0 = performance.now();
  const computed = computeContract(inputs, {
    brokerIngressUrl: `http://127.0.0.1:${ingressPort}`,
    now: Date.now(),
    firstGeneration: Date.now() * 1000,
  });
  const computeMs = performance.now() - t0;
  const feed = new ContractFeed<typeof computed.contract>();
  feed.publish(computed.contract);
  const server = await serveContractFeed(feed, { path: '/v1/contract/broker' });
  try {
    progress(`feed ${n}: contract computed in ${Math.round(computeMs)} ms; fetching it ${SERVE_RUNS} times`);
    const served = await serveContract(server.url, SERVE_RUNS);
    const nextMs: number[] = [];
    for (let i = 0; i < SERVE_RUNS; i++) {
      const current = feed.current?.generation ?? 0;
      const waiting = (async () => {
        const res = await request(
          `${server.url}?member=bench-follower&component=bench-probe&after=${current}&wait=25000`,
        );
        await res.body.text();
        return performance.now();
      })();
      await sleep(200);
      const published = performance.now();
      feed.publish({ ...computed.contract, generation: current + 1 });
      nextMs.push((await waiting) - published);
    }
    return { triggers: n, computeMs, served, nextMs };
  } finally {
    await server.close();
    feed.close();
  }
}

interface ContractResult {
  triggers: number;
  createSeconds: number;
  /** Controller start (process spawned) to the follower holding a contract with every route. */
  firstFullContractSeconds: number;
  served: Served;
  controllerRssMb: number;
  controllerCpu: number;
  notes: string[];
}

/**
 * The contract mechanism at N Triggers without the at-once burst: the Triggers exist before the
 * controller starts (a controller restart over N Triggers), so the contract is measured while one
 * leader serves it: time to a contract with every route, its JSON size, and the time to serve it.
 */
async function contractPhase(
  n: number,
  cluster: KubernetesCluster,
  api: Api,
  brokers: string[],
  workDir: string,
): Promise<ContractResult> {
  const ns = `bench-contract-${n}-${Date.now().toString(36)}`;
  await kubectl(cluster, ['create', 'namespace', ns]);
  const [ingressPort, sinkPort] = (await freePorts(2)) as [number, number];
  const c0 = performance.now();
  const b = await api.post(`${GROUP}/namespaces/${ns}/brokers`, broker(ns, sinkPort));
  if (b.status !== 201) throw new Error(`create Broker: HTTP ${b.status}`);
  let done = 0;
  const ticker = setInterval(
    () => progress(`contract ${n}: ${done.toLocaleString('en-US')} Triggers created`),
    5000,
  );
  try {
    await bounded(
      n,
      CONCURRENCY,
      async (i) => {
        for (let attempt = 0; ; attempt++) {
          const res = await api.post(`${GROUP}/namespaces/${ns}/triggers`, trigger(ns, i, sinkPort));
          if (res.status === 201) return;
          if ((res.status === 429 || res.status >= 500) && attempt < 10) {
            await sleep(100 * 2 ** Math.min(attempt, 5));
            continue;
          }
          throw new Error(`t${i}: HTTP ${res.status}`);
        }
      },
      (d) => {
        done = d;
      },
    );
  } finally {
    clearInterval(ticker);
  }
  const createSeconds = (performance.now() - c0) / 1000;
  progress(`contract ${n}: ${n} Triggers created in ${createSeconds.toFixed(1)} s; starting eddy controller`);
  const s0 = performance.now();
  // The follower from the start: a replica that leads and then loses the Lease still published.
  const controller = await Controller.start(ns, cluster.kubeconfigPath, brokers, ingressPort, workDir, false);
  const follower = followFeed(controller.feedUrl);
  const notes: string[] = [];
  try {
    const deadline = performance.now() + 600_000;
    while (!follower.seen.some((x) => x.routes === n)) {
      if (performance.now() > deadline) throw new Error(`no contract with ${n} routes within 600 s`);
      await sleep(100);
    }
    const full = follower.seen.find((x) => x.routes === n) as Seen;
    const firstFullContractSeconds = (full.at - s0) / 1000;
    progress(
      `contract ${n}: a contract with every route after ${firstFullContractSeconds.toFixed(1)} s; fetching it ${SERVE_RUNS} times`,
    );
    const served = await serveContract(controller.feedUrl, SERVE_RUNS);
    if (served.routes !== n) notes.push(`the served contract has ${served.routes} routes, not ${n}`);
    for (const x of controller.restarts)
      notes.push(`the controller exited ${((x.at - s0) / 1000).toFixed(1)} s after it started (${x.reason})`);
    return {
      triggers: n,
      createSeconds,
      firstFullContractSeconds,
      served,
      controllerRssMb: controller.rssMb(),
      controllerCpu: controller.cpu(),
      notes,
    };
  } finally {
    follower.stop();
    await controller.stop();
  }
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const n0 = (x: number | undefined) =>
  Number.isFinite(x) ? Math.round(x as number).toLocaleString('en-US') : '-';
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

function versions(kafka: string, cluster: string): string {
  const git = (...a: string[]) => spawnSync('git', a, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : '';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return [
    `Eddy ${git('rev-parse', '--short', 'HEAD') || '?'}${dirty}; Node ${process.version} (controller: node ${COMPONENT_NODE_FLAGS.join(' ')} packages/cli/dist/main.js controller); ${cluster}; ${kafka}`,
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; load average at the end ${load} (shared with other sessions' tests)`,
  ].join('\n');
}

function perWrite(w: Record<string, number>, n: number): string {
  const kinds = Object.keys(w)
    .filter((k) => k !== 'total' && w[k])
    .map((k) => `${k} ${n0(w[k])}`)
    .join(', ');
  return `${n0(w.total)} (${f2((w.total ?? 0) / n)}/Trigger${kinds ? `; ${kinds}` : ''})`;
}

function report(
  results: PhaseResult[],
  failures: string[],
  header: string,
  logs: string,
  json: string,
): string {
  const out = [
    '',
    `## controller, ${new Date().toISOString().slice(0, 16).replace('T', ' ')}Z`,
    '',
    `Command: \`${`node bench/controller/run.ts ${process.argv.slice(2).join(' ')}`.trim()}\` (after \`pnpm run build\`)`,
    '',
    ...header.split('\n').map((l) => `${l}  `),
    '',
    `Settings: per phase a fresh namespace and a fresh \`eddy controller --namespace\` process; one Broker (deadLetterSink a uri) waited Ready, then N Triggers (an exact type filter each, subscriber uri http://127.0.0.1:<port>/t<i>) created at once (${APPLY === 'api' ? `POSTed to the API server, ${CONCURRENCY} in flight` : 'one `kubectl apply --server-side -f` of a List'}); a watch on the Triggers times them; Ready = Ready=True with observedGeneration = generation. CPU from /proc/<pid>/stat from the first create to the end of the settle (writes still for ${SETTLE_MS / 1000} s); controller peak RSS = VmHWM; writes = the controller's eddy_controller_api_writes_total during the phase. Contract: a follower long-polls the feed as a data-plane process does; the full contract fetched ${SERVE_RUNS} times with the data plane's query (after=-1), median time.${DATA_PLANE ? ' With `eddy ingress` + `eddy dispatcher` following the feed.' : ' No data-plane processes (Ready does not wait for any then).'}`,
    '',
    '| Triggers | all in the API | all Ready (controller restarts) | per Trigger seen→Ready p50 / p90 / max | controller CPU s (to Ready; total) | controller RSS MB idle → peak | apiserver + etcd CPU s | controller API writes (to Ready → after settle) | watch MODIFIED | controller connections to the API server opened (peak open) |',
    '|---:|---:|---:|---|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of results) {
    out.push(
      `| ${n0(r.triggers)} | ${f1(r.applySeconds)} s (${n0(r.triggers / r.applySeconds)}/s) | ${f1(r.readySeconds)} s (${r.restarts}) | ${f1(r.perTrigger.p50)} / ${f1(r.perTrigger.p90)} / ${f1(r.perTrigger.max)} s | ${f1(r.controller.cpuToReady)}; ${f1(r.controller.cpuTotal)} | ${n0(r.controller.idleRssMb)} → ${n0(r.controller.peakRssMb)} | ${f1(r.apiserverCpu)} + ${f1(r.etcdCpu)} | ${n0(r.writesAtReady.total)} → ${perWrite(r.writesAfterSettle, r.triggers)} | ${n0(r.modifiedEvents)} | ${n0(r.connections.opened)} (${n0(r.connections.peakApiConnections)}) |`,
    );
  }
  out.push(
    '',
    '| Triggers | contract generations (published; seen by a follower; bytes it fetched) | contract served: routes, JSON size | vs 1 MiB ConfigMap | time to serve it (median; to headers) |',
    '|---:|---|---|---:|---|',
  );
  for (const r of results) {
    const s = r.contract.served;
    out.push(
      `| ${n0(r.triggers)} | ${n0(r.contract.generationsPublished)}; ${n0(r.contract.generationsSeen)}; ${mib(r.contract.bytesSeen)} | ${n0(s.routes)}, ${n0(s.bytes)} B (${mib(s.bytes)}) | ${f1(s.bytes / CONFIGMAP_LIMIT)}x | ${n0(median(s.ms))} ms; ${n0(median(s.headersMs))} ms |`,
    );
  }
  if (feedResults.length) {
    out.push(
      '',
      "`--feed N`: the contract mechanism alone (this process): the contract of the Broker and N Triggers computed by computeContract, published on a ContractFeed served by serveContractFeed (the routes the controller registers), fetched with the data plane's query (`after=-1`); then a follower waiting on `after=<current>` gets a newly published generation:",
      '',
      '| Triggers | computeContract | contract: routes, JSON size | vs 1 MiB ConfigMap | time to serve it (median; to headers; runs) | publish → waiting follower has it (median; runs) |',
      '|---:|---:|---|---:|---|---|',
    );
    for (const c of feedResults)
      out.push(
        `| ${n0(c.triggers)} | ${n0(c.computeMs)} ms | ${n0(c.served.routes)}, ${n0(c.served.bytes)} B (${mib(c.served.bytes)}) | ${f1(c.served.bytes / CONFIGMAP_LIMIT)}x | ${n0(median(c.served.ms))} ms; ${n0(median(c.served.headersMs))} ms; ${c.served.ms.map((x) => n0(x)).join(', ')} ms | ${n0(median(c.nextMs))} ms; ${c.nextMs.map((x) => n0(x)).join(', ')} ms |`,
      );
  }
  if (contractResults.length) {
    out.push(
      '',
      'Contract phase (`--contract N`): N Triggers created first (API, ' +
        CONCURRENCY +
        " in flight), then a controller started on them; a follower long-polls the feed; the full contract fetched with the data plane's query once it has every route:",
      '',
      '| Triggers | created in | controller start → contract with every route | contract: routes, JSON size | vs 1 MiB ConfigMap | time to serve it (median; to headers; runs) | controller RSS MB, CPU s then |',
      '|---:|---:|---:|---|---:|---|---:|',
    );
    for (const c of contractResults)
      out.push(
        `| ${n0(c.triggers)} | ${f1(c.createSeconds)} s | ${f1(c.firstFullContractSeconds)} s | ${n0(c.served.routes)}, ${n0(c.served.bytes)} B (${mib(c.served.bytes)}) | ${f1(c.served.bytes / CONFIGMAP_LIMIT)}x | ${n0(median(c.served.ms))} ms; ${n0(median(c.served.headersMs))} ms; ${c.served.ms.map((x) => n0(x)).join(', ')} ms | ${n0(c.controllerRssMb)}, ${f1(c.controllerCpu)} |`,
      );
    for (const c of contractResults)
      for (const x of c.notes) out.push('', `- contract ${n0(c.triggers)}: ${x}`);
  }
  for (const r of results) {
    out.push(
      '',
      `What the watch saw of each of the ${n0(r.triggers)} Triggers (sequences of stored versions, most common first):`,
      '',
      ...r.watchPatterns.map(([p, c]) => `- ${n0(c)} x: ${p.replaceAll(' -> ', ' → ')}`),
    );
  }
  for (const r of results)
    if (r.dataPlane)
      out.push(
        '',
        `Data plane (${n0(r.triggers)} Triggers): ${Object.entries(r.dataPlane)
          .map(([k, v]) => `${k} ${v === null ? 'not reached' : f1(v)}`)
          .join(', ')}`,
      );
  const notes = [
    ...results.flatMap((r) => r.notes.map((x) => `${n0(r.triggers)} Triggers: ${x}`)),
    ...failures,
  ];
  if (notes.length) out.push('', ...notes.map((x) => `- ${x}`));
  out.push('', `Logs of this run: ${logs}; results as JSON: ${json}`, '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

/** Without the CEL rules (x-kubernetes-validations) anywhere in a CRD's schemas. */
function withoutCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCel);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== 'x-kubernetes-validations')
      .map(([k, v]) => [k, withoutCel(v)]),
  );
}

/**
 * Applies every CRD. One the API server refuses is applied again without its CEL rules (none of
 * them is a Broker's or a Trigger's; the controller waits for every kind it watches to be served),
 * and named in the notes.
 */
async function applyCrds(cluster: KubernetesCluster): Promise<string[]> {
  const crds = customResourceDefinitions();
  const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
  const all = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
    input: list(crds),
    timeoutMs: 120_000,
  });
  if (all.code === 0) return [];
  const notes: string[] = [];
  for (const crd of crds) {
    const name = (crd.metadata as { name: string }).name;
    const one = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: list([crd]) });
    if (one.code === 0) continue;
    progress(`CRD ${name} refused (${one.stderr.trim().slice(0, 200)}); applying it without its CEL rules`);
    await kubectl(cluster, ['apply', '--server-side', '-f', '-'], list([withoutCel(crd)]));
    notes.push(
      `CRD ${name}: the API server refused it (${one.stderr.trim().split('\n')[0]?.slice(0, 160)}...); applied without its x-kubernetes-validations (it is not a Broker's or Trigger's)`,
    );
  }
  return notes;
}

const crdNotes: string[] = [];
const contractResults: ContractResult[] = [];
const feedResults: FeedResult[] = [];

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-controller-'));
  const jsonFile = args.json ?? path.join(workDir, 'results.json');
  let kafka: KafkaCluster | undefined;
  let cluster: KubernetesCluster | undefined;
  let api: Api | undefined;
  const results: PhaseResult[] = [];
  const failures: string[] = [];
  let header = '';
  try {
    let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
    progress(
      `starting the test cluster (etcd + kube-apiserver)${brokers.length ? '' : ' and a single-node Kafka (set KAFKA_BROKERS to use an existing one)'}`,
    );
    [cluster, kafka] = await ticking(
      'starting peers',
      Promise.all([
        startKubernetesControlPlane({ log: (l) => progress(`kubernetes: ${l}`) }),
        brokers.length
          ? Promise.resolve(undefined)
          : startKafka({ fastStartJvm: false, log: (l) => progress(`kafka: ${l}`) }),
      ]),
    );
    if (kafka) brokers = kafka.brokers;
    api = kubeApi(cluster.server, cluster.caFile, cluster.token);
    const version = await kubectl(cluster, ['version', '-o', 'json']);
    const serverVersion = (JSON.parse(version) as { serverVersion?: { gitVersion?: string } }).serverVersion
      ?.gitVersion;
    header = versions(
      kafka ? `Kafka ${kafka.version} (1 node, test harness)` : `Kafka at ${brokers.join(',')}`,
      `kube-apiserver ${serverVersion ?? '?'} + etcd (test harness, control plane only)`,
    );
    progress('applying the CRDs (@eddy/api customResourceDefinitions())');
    crdNotes.push(...(await applyCrds(cluster)));
    await kubectl(cluster, [
      'wait',
      '--for=condition=Established',
      '--timeout=120s',
      'crd',
      '-l',
      'eddy.dev/crd',
    ]);

    if (FEED > 0) {
      try {
        feedResults.push(await feedPhase(FEED));
      } catch (error) {
        const message = `feed ${FEED}: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(`not measured: ${message}`);
      }
    }
    if (CONTRACT > 0) {
      try {
        contractResults.push(await contractPhase(CONTRACT, cluster, api, brokers, workDir));
      } catch (error) {
        const message = `contract ${CONTRACT}: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(`not measured: ${message}`);
      }
    }
    for (const n of [TRIGGERS, ...(BIG > 0 ? [BIG] : [])]) {
      if (n === 0) continue;
      try {
        const r = await phase(n, cluster, api, brokers, workDir);
        results.push(r);
        writeFileSync(jsonFile, JSON.stringify({ header, results }, null, 2));
      } catch (error) {
        const message = `${n} Triggers: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(`not measured: ${message}`);
      }
    }
  } finally {
    await api?.close();
    await cluster?.stop();
    await kafka?.stop();
  }
  writeFileSync(
    jsonFile,
    JSON.stringify(
      { header, command: process.argv.slice(2), results, feedResults, contractResults, failures },
      null,
      2,
    ),
  );
  publishResults(report(results, failures, header, workDir, jsonFile), !args['no-write']);
  if (failures.length) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    progress(`${signal}: stopping everything`);
    process.exit(130);
  });
await main();
