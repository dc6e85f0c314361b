// A real Kubernetes control plane for tests, without Docker or a kubelet: etcd and kube-apiserver,
// and (by default) kube-controller-manager, kube-scheduler and kwok with one fake Ready node, all
// local processes on free 127.0.0.1 ports. Pods on the kwok node are bookkeeping only: nothing runs
// in them and their IPs lead nowhere, so components under test run as local processes that talk
// to the apiserver with the kubeconfig.
//
// The binaries come from the Go tools module in ./kubernetes/tools (go.mod + go.sum pin every
// version). They are ~570 MB and a cold build takes minutes, so they live in a per-user cache
// outside the work tree, shared by every checkout on the machine and keyed by the module's hash.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.ts';
import { newRunLogDir, peerCacheRoot, sweepStaleDataDirs, withDirLock } from './harness-cache.ts';
import {
  isAlive,
  onProcessExit,
  type PeerProcess,
  requireTool,
  runLogged,
  sleep,
  spawnPeer,
  startTimeoutMs,
  tailFile,
} from './processes.ts';

export const KUBERNETES_TOOLS_MODULE_DIR = fileURLToPath(new URL('./kubernetes/tools/', import.meta.url));

/** What `go build ... tool` must leave in the bin folder (etcd's main package is named `server`). */
export const KUBERNETES_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
  'helm',
] as const;

/**
 * kwok v0.8 simulates nothing unless given Stage objects. These come from the kwok module itself
 * (kustomize/stage/): nodes become Ready at once and keep a Lease as heartbeat, Pods become
 * Running at once, Job Pods complete, and deleted Pods go away (there is no kubelet to finish a
 * graceful deletion).
 */
const KWOK_STAGE_FILES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

/** The name of the one kwok node `startKubernetesCluster` creates. */
export const KWOK_NODE_NAME = 'kwok-node-0';

export interface KubernetesToolVersions {
  /** e.g. `v1.37.2`: kube-apiserver, controller-manager, scheduler, kubectl. */
  kubernetes: string;
  etcd: string;
  kwok: string;
  helm: string;
}

export interface KubernetesTools {
  /** Folder with the binaries of KUBERNETES_BINARIES. */
  binDir: string;
  /** kwok's Stage config (`kwok --config`). */
  kwokStagesFile: string;
  versions: KubernetesToolVersions;
}

export interface KubectlResult {
  /** Exit code; -1 if a signal ended kubectl. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Another kubeconfig (e.g. one with a ServiceAccount's token) instead of the admin one. */
  kubeconfig?: string;
  /** Default 60 s; kubectl is killed and the call rejects after it. */
  timeoutMs?: number;
}

export type Kubectl = (args: string[], options?: KubectlOptions) => Promise<KubectlResult>;

export interface KubernetesCluster {
  /** Admin kubeconfig (user `admin` in group system:masters, bearer token). */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  readonly server: string;
  /** The admin bearer token (also in the kubeconfig). */
  readonly token: string;
  /** CA that signed the apiserver's serving certificate (PEM). */
  readonly caFile: string;
  /** Folder with kubectl, helm and the cluster's own binaries. */
  readonly binDir: string;
  /** `etcd.log`, `kube-apiserver.log`, ... of this cluster. */
  readonly logDir: string;
  /** Pids of the running components, by binary name (for crash and orphan tests). */
  readonly pids: Readonly<Record<string, number | undefined>>;
  /** Runs this folder's kubectl against the cluster (admin unless `options.kubeconfig`). */
  kubectl: Kubectl;
  /** Stops every component (SIGTERM, SIGKILL after a grace period) and removes the data. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKubernetesOptions {
  /**
   * kube-controller-manager + kube-scheduler + kwok and one Ready kwok node (default true).
   * Without them the cluster stores and serves objects (CRDs, RBAC, webhooks) but nothing acts on
   * them: no Pods for a Deployment, no garbage collection.
   */
  nodes?: boolean;
  /** Progress lines (default: stderr with a `[kubernetes]` prefix). */
  log?: (line: string) => void;
  /** How long to wait for the cluster once the tools exist (default 180 s, env EDDY_K8S_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
}

const defaultLog = (line: string) => process.stderr.write(`[kubernetes] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Tools

/** The versions pinned by the tools module's go.mod (its `require` lines). */
export function kubernetesToolVersions(): KubernetesToolVersions {
  const goMod = readFileSync(join(KUBERNETES_TOOLS_MODULE_DIR, 'go.mod'), 'utf8');
  const pinned = (module: string): string => {
    const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod);
    if (!match) throw new Error(`${module} is not required by ${KUBERNETES_TOOLS_MODULE_DIR}go.mod`);
    return match[1]!;
  };
  return {
    kubernetes: pinned('k8s.io/kubernetes'),
    etcd: pinned('go.etcd.io/etcd/server/v3'),
    kwok: pinned('sigs.k8s.io/kwok'),
    helm: pinned('helm.sh/helm/v4'),
  };
}

/**
 * Version stamps the release builds set with -X. Without them kube-apiserver's /version says
 * `v0.0.0-master+$Format:%H$`, which clients (kubectl version, helm's kubeVersion checks) reject.
 * The commit and date are fixed so the same module always gives the same binaries.
 */
export function kubernetesLdflags(versions: KubernetesToolVersions): string {
  const m = /^v(\d+)\.(\d+)\./.exec(versions.kubernetes);
  if (!m) throw new Error(`unexpected Kubernetes version ${versions.kubernetes}`);
  const v = 'k8s.io/component-base/version';
  return [
    '-s -w',
    `-X ${v}.gitVersion=${versions.kubernetes}`,
    `-X ${v}.gitMajor=${m[1]}`,
    `-X ${v}.gitMinor=${m[2]}`,
    `-X ${v}.gitTreeState=clean`,
    `-X ${v}.gitCommit=${'0'.repeat(40)}`,
    `-X ${v}.buildDate=2026-01-01T00:00:00Z`,
    `-X helm.sh/helm/v4/internal/version.version=${versions.helm}`,
  ].join(' ');
}

/** The cache key: the module's pins and the link flags (a change to either means other binaries). */
export function kubernetesToolsHash(): string {
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum']) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(join(KUBERNETES_TOOLS_MODULE_DIR, name)));
    hash.update('\0');
  }
  hash.update(`ldflags\0${kubernetesLdflags(kubernetesToolVersions())}\0`);
  hash.update(`stages\0${KWOK_STAGE_FILES.join(',')}\0`);
  return hash.digest('hex').slice(0, 16);
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/eddy/k8s-tools`: per user, outside every work tree. */
export function kubernetesToolsCacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  return join(base, 'eddy', 'k8s-tools');
}

/** The repository's `.cache/kubernetes` (or EDDY_K8S_CACHE_DIR): only the clusters' run logs. */
export function kubernetesLogRoot(): string {
  return join(peerCacheRoot('kubernetes', 'EDDY_K8S_CACHE_DIR'), 'logs');
}

function missingBinaries(binDir: string): string[] {
  return KUBERNETES_BINARIES.filter((name) => !existsSync(join(binDir, name)));
}

// Go must not touch the committed go.mod/go.sum (readonly), nor stamp the repository's git state
// into the binaries, nor pick up a go.work from a folder above the repository.
const goEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GOFLAGS: '-mod=readonly -buildvcs=false',
  GOWORK: 'off',
});

function requireGo(): void {
  requireTool(
    'go',
    ['version'],
    'Go 1.26 or newer (https://go.dev/dl/ or the `golang` package of the distribution)',
    'build the Kubernetes test cluster (kube-apiserver, etcd, kwok, kubectl, helm from test/harness/kubernetes/tools)',
  );
}

/** Runs a command to completion and collects its output (for short commands: go mod download, kubectl). */
function runCaptured(
  cmd: string,
  args: string[],
  options: { input?: string; timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<KubectlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    // A kubectl exiting before it read all its input must not become an unhandled EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${cmd}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = {
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (timedOut) {
        reject(
          new Error(
            `${cmd} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${result.stderr.trim()}`,
          ),
        );
      } else {
        resolvePromise(result);
      }
    });
  });
}

/** Concatenates kwok's stage files from its module (downloaded by Go if needed) into `target`. */
async function writeKwokStages(target: string, kwokVersion: string): Promise<void> {
  const res = await runCaptured('go', ['mod', 'download', '-json', `sigs.k8s.io/kwok@${kwokVersion}`], {
    cwd: KUBERNETES_TOOLS_MODULE_DIR,
    env: goEnv(),
    timeoutMs: 300_000,
  });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(res.stdout) as typeof info;
  } catch {}
  if (res.code !== 0 || !info.Dir) {
    throw new Error(
      `go mod download sigs.k8s.io/kwok@${kwokVersion} failed (exit ${res.code}): ${info.Error ?? res.stderr.trim()}`,
    );
  }
  const stageDir = join(info.Dir, 'kustomize', 'stage');
  const parts = KWOK_STAGE_FILES.map((file) => {
    const path = join(stageDir, file);
    if (!existsSync(path)) throw new Error(`kwok ${kwokVersion} has no ${path}; update KWOK_STAGE_FILES`);
    return `---\n${readFileSync(path, 'utf8').trimEnd()}\n`;
  });
  const partial = `${target}.partial-${process.pid}`;
  writeFileSync(partial, parts.join(''));
  renameSync(partial, target);
}

/** Build folders of runs that died half-way; ours would be reused by name, so it goes too. */
function sweepPartialBuilds(root: string, hash: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {}
  for (const entry of entries) {
    const m = new RegExp(`^${hash}\\.partial-(\\d+)$`).exec(entry);
    if (m && (Number(m[1]) === process.pid || !isAlive(Number(m[1])))) {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}

/**
 * The Kubernetes binaries and kwok's stage config, built on first use. EDDY_K8S_TOOLS_DIR names a
 * folder that already holds the binaries (used as is, nothing is built); otherwise
 * `go build ... tool` runs once per tools-module hash into
 * `${XDG_CACHE_HOME:-$HOME/.cache}/eddy/k8s-tools/<hash>/`, under a lock, and the finished folder
 * appears by an atomic rename, so a half-built one is never used.
 */
export async function ensureKubernetesTools(
  log: (line: string) => void = () => {},
): Promise<KubernetesTools> {
  const versions = kubernetesToolVersions();
  const override = process.env.EDDY_K8S_TOOLS_DIR?.trim();
  if (override) {
    const binDir = resolve(override);
    const missing = missingBinaries(binDir);
    if (missing.length > 0) {
      throw new Error(`EDDY_K8S_TOOLS_DIR=${binDir} lacks ${missing.join(', ')}`);
    }
    // A stage config next to the binaries wins; otherwise it is built once into the cache.
    let kwokStagesFile = join(binDir, 'kwok-stages.yaml');
    if (!existsSync(kwokStagesFile)) {
      const root = kubernetesToolsCacheRoot();
      kwokStagesFile = join(root, `kwok-stages-${versions.kwok}-${kubernetesToolsHash()}.yaml`);
      if (!existsSync(kwokStagesFile)) {
        mkdirSync(root, { recursive: true });
        requireGo();
        await writeKwokStages(kwokStagesFile, versions.kwok);
      }
    }
    return { binDir, kwokStagesFile, versions };
  }

  const root = kubernetesToolsCacheRoot();
  const hash = kubernetesToolsHash();
  const dir = join(root, hash);
  const tools: KubernetesTools = {
    binDir: join(dir, 'bin'),
    kwokStagesFile: join(dir, 'kwok-stages.yaml'),
    versions,
  };
  const complete = () => existsSync(tools.kwokStagesFile) && missingBinaries(tools.binDir).length === 0;
  if (complete()) return tools;
  mkdirSync(root, { recursive: true });
  const lockDir = join(root, `${hash}.lock`);
  return withDirLock(lockDir, 'building the Kubernetes test tools', log, async () => {
    if (complete()) return tools;
    requireGo();
    sweepPartialBuilds(root, hash);
    // A folder from an older layout or a crashed rename: rebuilt rather than trusted.
    rmSync(dir, { recursive: true, force: true });
    const partial = join(root, `${hash}.partial-${process.pid}`);
    const partialBin = join(partial, 'bin');
    mkdirSync(partialBin, { recursive: true });
    const buildLog = join(partial, 'go-build.log');
    log(
      `building Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok} and helm ${versions.helm} ` +
        `with go into ${dir}; a cold build takes ~12 min on 2 cores (~1 GB of modules, ~4 GB of Go build cache), ` +
        `a relink with a warm Go build cache under a minute (log: ${buildLog})`,
    );
    const started = Date.now();
    // withDirLock takes over a lock older than 15 minutes, which a cold build on a busy machine
    // can reach: keep it fresh while we are building.
    const keepLock = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(lockDir, now, now);
      } catch {}
    }, 60_000);
    let code: number | null;
    try {
      // nice: the other peers the global setup starts meanwhile must not starve for CPU.
      // -v: the package being built is the log's last line, which the progress lines show.
      code = await runLogged(
        'nice',
        [
          '-n',
          '10',
          'go',
          'build',
          '-trimpath',
          '-v',
          '-o',
          `${partialBin}/`,
          `-ldflags=${kubernetesLdflags(versions)}`,
          'tool',
        ],
        {
          cwd: KUBERNETES_TOOLS_MODULE_DIR,
          outFile: buildLog,
          env: goEnv(),
          progress: { log, what: 'still building the Kubernetes tools', everyMs: 25_000 },
        },
      );
    } finally {
      clearInterval(keepLock);
    }
    if (code !== 0) {
      throw new Error(
        `building the Kubernetes tools failed (go build exit ${code}); see ${buildLog}:\n${tailFile(buildLog, 15)}`,
      );
    }
    // etcd's main package is go.etcd.io/etcd/server/v3, so go names its binary `server`.
    if (existsSync(join(partialBin, 'server')))
      renameSync(join(partialBin, 'server'), join(partialBin, 'etcd'));
    const missing = missingBinaries(partialBin);
    if (missing.length > 0) {
      throw new Error(`go build left no ${missing.join(', ')} in ${partialBin}; see ${buildLog}`);
    }
    await writeKwokStages(join(partial, 'kwok-stages.yaml'), versions.kwok);
    renameSync(partial, dir);
    log(`Kubernetes tools built in ${Math.round((Date.now() - started) / 1000)} s (${tools.binDir})`);
    return tools;
  });
}

// ---------------------------------------------------------------------------------------------
// kubectl

/** kubectl from `binDir` against `kubeconfigPath`, for tests that only have the injected values. */
export function kubectlFor(target: { kubeconfigPath: string; binDir: string }): Kubectl {
  return (args, options = {}) =>
    runCaptured(
      join(target.binDir, 'kubectl'),
      [`--kubeconfig=${options.kubeconfig ?? target.kubeconfigPath}`, ...args],
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        ...(options.input !== undefined ? { input: options.input } : {}),
      },
    );
}

/**
 * helm from `binDir` against `kubeconfigPath` (same options and result as kubectlFor). Helm keeps its
 * cache and config under HELM_* folders; they go to the OS temp dir so a test never reads or writes
 * the user's own repositories and plugins.
 */
export function helmFor(target: { kubeconfigPath: string; binDir: string }): Kubectl {
  const home = join(tmpdir(), `eddy-helm-${process.getuid?.() ?? 'user'}`);
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return (args, options = {}) =>
    runCaptured(
      join(target.binDir, 'helm'),
      [`--kubeconfig=${options.kubeconfig ?? target.kubeconfigPath}`, ...args],
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        env,
        ...(options.input !== undefined ? { input: options.input } : {}),
      },
    );
}

/** The apiserver URL of the kubeconfig's current context. */
export async function kubeconfigServer(kubectl: Kubectl): Promise<string> {
  const res = await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
  if (res.code !== 0 || res.stdout.trim() === '') {
    throw new Error(`the kubeconfig names no server for its current context: ${res.stderr.trim()}`);
  }
  return res.stdout.trim();
}

/** A kubeconfig with one cluster, one user (bearer token) and one context, all named `eddy-test`. */
export function kubeconfigYaml(server: string, caFile: string, token: string, user = 'admin'): string {
  // JSON strings are valid YAML scalars, so paths and tokens need no YAML escaping of their own.
  const q = JSON.stringify;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: eddy-test`,
    '  cluster:',
    `    server: ${q(server)}`,
    `    certificate-authority: ${q(caFile)}`,
    'users:',
    `- name: ${q(user)}`,
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    '- name: eddy-test',
    '  context:',
    '    cluster: eddy-test',
    `    user: ${q(user)}`,
    'current-context: eddy-test',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Cluster

/** GET over TLS with a bearer token; resolves with the status and body, rejects on network errors. */
function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      { method: 'GET', ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

interface Component {
  name: string;
  proc: PeerProcess;
  logFile: string;
}

function failure(component: Component, problem: string): Error {
  return new Error(
    `${component.name} ${problem}\n--- last lines of ${component.logFile} ---\n${tailFile(component.logFile, 25)}`,
  );
}

/** Throws (with the log tail) once any of `components` has exited. */
function checkAlive(components: Component[]): void {
  for (const c of components) {
    if (c.proc.hasExited) throw failure(c, `exited (${c.proc.exitReason}) while the cluster was starting`);
  }
}

/**
 * Starts etcd and kube-apiserver, and with `nodes` (default) the controller manager, the scheduler,
 * kwok and one Ready kwok node. Resolves once the apiserver is ready (and the node Ready).
 */
export async function startKubernetesCluster(
  options: StartKubernetesOptions = {},
): Promise<KubernetesCluster> {
  const log = options.log ?? defaultLog;
  const withNodes = options.nodes ?? true;
  const timeoutMs = startTimeoutMs(options.startTimeoutMs, 'EDDY_K8S_START_TIMEOUT_MS', 180_000);
  const tools = await ensureKubernetesTools(log);
  const started = Date.now();
  const bin = (name: string) => join(tools.binDir, name);
  // Seconds since the start at which each stage was done, for the ready line: a slow start on a
  // busy machine shows where the time went.
  const phases: string[] = [];
  const mark = (what: string) => phases.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  sweepStaleDataDirs('eddy-k8s-');

  const logDir = newRunLogDir(kubernetesLogRoot());
  const baseDir = mkdtempSync(join(tmpdir(), 'eddy-k8s-'));
  writeFileSync(join(baseDir, 'owner.pid'), `${process.pid}\n`);
  const forgetData = onProcessExit(() => rmSync(baseDir, { recursive: true, force: true }));
  const certDir = join(baseDir, 'certs');
  mkdirSync(certDir, { recursive: true });

  // Service-account tokens are signed with this key pair (TokenRequest, kcm's token controller).
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(certDir, 'sa.key');
  const saPub = join(certDir, 'sa.pub');
  writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const token = randomBytes(24).toString('hex');
  const tokensFile = join(certDir, 'tokens.csv');
  writeFileSync(tokensFile, `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 });
  // kube-apiserver writes a self-signed CA and serving certificate (127.0.0.1, localhost,
  // kubernetes.default.svc, ...) into --cert-dir; the kubeconfig trusts that CA.
  const servingDir = join(certDir, 'serving');
  const caFile = join(servingDir, 'apiserver.crt');
  const kubeconfigPath = join(baseDir, 'kubeconfig');

  const components: Component[] = [];
  const launch = (name: string, args: string[]): Component => {
    const logFile = join(logDir, `${name}.log`);
    writeFileSync(join(logDir, `${name}.args`), `${[bin(name), ...args].join(' \\\n  ')}\n`);
    const component = {
      name,
      logFile,
      proc: spawnPeer(bin(name), args, { outFile: logFile, label: `k8s-${name}` }),
    };
    components.push(component);
    return component;
  };
  const stopAll = async () => {
    // Clients first, so they do not log errors about a vanishing apiserver; etcd last.
    for (const group of [
      ['kwok', 'kube-scheduler', 'kube-controller-manager'],
      ['kube-apiserver'],
      ['etcd'],
    ]) {
      await Promise.all(
        components
          .filter((c) => group.includes(c.name))
          .map((c) => c.proc.stop(c.name === 'etcd' ? 5000 : 10_000)),
      );
    }
  };

  log(
    `starting Kubernetes ${tools.versions.kubernetes}${withNodes ? ' with a kwok node' : ''}; logs in ${logDir}`,
  );
  let server = '';
  const maxAttempts = 3;
  for (let attempt = 1; ; attempt++) {
    const [etcdPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    server = `https://127.0.0.1:${apiPort}`;
    const deadline = Date.now() + timeoutMs;
    try {
      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
      rmSync(join(baseDir, 'etcd'), { recursive: true, force: true });
      const etcd = launch('etcd', [
        `--data-dir=${join(baseDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=default=${etcdPeerUrl}`,
        // Test data need not survive a power cut; fsync on every write only costs time.
        '--unsafe-no-fsync',
      ]);
      for (;;) {
        checkAlive([etcd]);
        const healthy = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) })
          .then(async (res) => res.ok && ((await res.json()) as { health?: string }).health === 'true')
          .catch(() => false);
        if (healthy) {
          mark('etcd');
          break;
        }
        if (Date.now() > deadline) throw failure(etcd, `was not healthy within ${timeoutMs} ms`);
        await sleep(50);
      }

      const apiserver = launch('kube-apiserver', [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // 1.37 refuses a loopback advertise address for the `kubernetes` Service's endpoints;
        // no Pod would reach it anyway.
        '--endpoint-reconciler-type=none',
        `--cert-dir=${servingDir}`,
        `--token-auth-file=${tokensFile}`,
        '--authorization-mode=RBAC',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // Pods need no ServiceAccount token volume: nothing runs in them.
        '--disable-admission-plugins=ServiceAccount',
      ]);
      let lastAnswer = 'no answer yet';
      for (;;) {
        checkAlive([etcd, apiserver]);
        if (existsSync(caFile)) {
          try {
            const res = await httpsGet(`${server}/readyz`, readFileSync(caFile), token);
            if (res.status === 200) {
              mark('apiserver');
              break;
            }
            lastAnswer = `HTTP ${res.status}: ${res.body.slice(-300)}`;
          } catch (err) {
            lastAnswer = (err as Error).message;
          }
        }
        if (Date.now() > deadline) {
          throw failure(apiserver, `was not ready within ${timeoutMs} ms (last answer: ${lastAnswer})`);
        }
        await sleep(100);
      }
      break;
    } catch (err) {
      await Promise.all(components.map((c) => c.proc.stop(2000)));
      const bindConflict = components.some((c) => /address already in use/i.test(tailFile(c.logFile, 50)));
      if (bindConflict && attempt < maxAttempts) {
        log(
          `a port was taken before the cluster could bind it; retrying with new ports (attempt ${attempt + 1})`,
        );
        for (const c of components) renameSync(c.logFile, `${c.logFile}.attempt-${attempt}`);
        components.length = 0;
        phases.length = 0;
        continue;
      }
      forgetData();
      rmSync(baseDir, { recursive: true, force: true });
      throw err;
    }
  }
  writeFileSync(kubeconfigPath, kubeconfigYaml(server, caFile, token), { mode: 0o600 });
  const kubectl = kubectlFor({ kubeconfigPath, binDir: tools.binDir });

  try {
    if (withNodes) {
      const deadline = Date.now() + timeoutMs;
      launch('kube-controller-manager', [
        `--kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        // No serving port: nothing scrapes it, and a fixed default port would clash between clusters.
        '--secure-port=0',
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caFile}`,
        '--cluster-name=eddy-test',
      ]);
      launch('kube-scheduler', [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0']);
      launch('kwok', [
        `--config=${tools.kwokStagesFile}`,
        `--kubeconfig=${kubeconfigPath}`,
        '--manage-all-nodes=true',
        '--cidr=10.0.0.1/24',
        '--node-ip=127.0.0.1',
      ]);
      const node = [
        'apiVersion: v1',
        'kind: Node',
        'metadata:',
        `  name: ${KWOK_NODE_NAME}`,
        // ttl 0: kcm's ttl controller would otherwise annotate it later and race with tests.
        '  annotations: {node.alpha.kubernetes.io/ttl: "0"}',
        `  labels: {kubernetes.io/hostname: ${KWOK_NODE_NAME}, kubernetes.io/os: linux, type: kwok}`,
        '',
      ].join('\n');
      const created = await kubectl(['apply', '-f', '-'], { input: node });
      if (created.code !== 0) throw new Error(`creating the kwok node failed: ${created.stderr.trim()}`);
      let lastState = '';
      for (;;) {
        checkAlive(components);
        const res = await kubectl([
          'get',
          'node',
          KWOK_NODE_NAME,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        lastState = res.code === 0 ? `Ready=${res.stdout || '(none)'}` : res.stderr.trim();
        if (res.code === 0 && res.stdout === 'True') {
          mark('node Ready');
          break;
        }
        if (Date.now() > deadline) {
          const kwok = components.find((c) => c.name === 'kwok')!;
          throw failure(
            kwok,
            `did not make node ${KWOK_NODE_NAME} Ready within ${timeoutMs} ms (${lastState})`,
          );
        }
        await sleep(100);
      }
    }
  } catch (err) {
    await stopAll();
    forgetData();
    rmSync(baseDir, { recursive: true, force: true });
    throw err;
  }

  log(
    `Kubernetes ready at ${server} in ${((Date.now() - started) / 1000).toFixed(1)} s (${phases.join(', ')}; kubeconfig ${kubeconfigPath})`,
  );
  let stopping: Promise<void> | undefined;
  return {
    kubeconfigPath,
    server,
    token,
    caFile,
    binDir: tools.binDir,
    logDir,
    pids: Object.fromEntries(components.map((c) => [c.name, c.proc.pid])),
    kubectl,
    stop() {
      stopping ??= (async () => {
        await stopAll();
        forgetData();
        rmSync(baseDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** etcd and kube-apiserver only: enough for CRDs, RBAC and webhooks, ~1 s quicker and ~150 MB smaller. */
export function startKubernetesControlPlane(
  options: Omit<StartKubernetesOptions, 'nodes'> = {},
): Promise<KubernetesCluster> {
  return startKubernetesCluster({ ...options, nodes: false });
}
