// The Docker backend of the harness: where an engine answers, the Java peers (Kafka, ElasticMQ) run
// as containers started through testcontainers, from images built here (no registry is reachable:
// scripts/debian-base-image.sh makes the Debian + JRE base, and the same Maven jars the jar backend
// runs are copied into it). Containers use the host's network, so a peer binds 127.0.0.1 ports as
// the jar backend's JVMs do, and host folders are mounted at the same paths, so configs, logs and
// data stay where the jar backend keeps them.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { peerCacheRoot, REPO_ROOT, withDirLock } from './harness-cache.ts';
import { isAlive, onProcessExit, type PeerProcess, runLogged, tailFile } from './processes.ts';

export type PeerBackend = 'docker' | 'jars';

/** Labels on every container the harness starts: what finds them again for clean-up. */
const LABEL = 'dev.eddy.test';
const OWNER_LABEL = 'dev.eddy.test.owner-pid';

export function dockerCacheRoot(): string {
  return peerCacheRoot('docker', 'EDDY_DOCKER_CACHE_DIR');
}

/** `docker info` within a few seconds, or why not (a missing CLI, a daemon that does not answer). */
export function dockerEngine(): { ok: true; version: string } | { ok: false; problem: string } {
  const res = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (res.error) return { ok: false, problem: `\`docker info\` failed: ${res.error.message}` };
  if (res.status !== 0) {
    const why = res.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return { ok: false, problem: `\`docker info\` failed: ${why}` };
  }
  return { ok: true, version: res.stdout.trim() };
}

let chosen: { backend: PeerBackend; why: string } | undefined;

/**
 * Which backend the Java peers use: EDDY_TEST_DOCKER=1 demands Docker (an error without an engine),
 * 0 the jars, auto (default) Docker when `docker info` answers. Decided once per process.
 */
export function peerBackend(): { backend: PeerBackend; why: string } {
  if (chosen) return chosen;
  const mode = (process.env.EDDY_TEST_DOCKER ?? 'auto').trim() || 'auto';
  if (mode !== '0' && mode !== '1' && mode !== 'auto') {
    throw new Error(`EDDY_TEST_DOCKER must be 0, 1 or auto, got ${JSON.stringify(mode)}`);
  }
  if (mode === '0') {
    chosen = { backend: 'jars', why: 'EDDY_TEST_DOCKER=0' };
    return chosen;
  }
  const engine = dockerEngine();
  if (engine.ok) {
    chosen = { backend: 'docker', why: `Docker engine ${engine.version}` };
  } else if (mode === '1') {
    throw new Error(
      `EDDY_TEST_DOCKER=1 but no Docker engine answers (${engine.problem}); start one (scripts/docker.sh) or unset it`,
    );
  } else {
    chosen = { backend: 'jars', why: `no Docker engine (${engine.problem})` };
  }
  return chosen;
}

function docker(args: string[]): { ok: boolean; out: string } {
  const res = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: res.status === 0, out: `${res.stdout ?? ''}${res.stderr ?? ''}`.trim() };
}

const imageExists = (ref: string) => docker(['image', 'inspect', '--format', '{{.Id}}', ref]).ok;

const baseImages = new Map<string, Promise<string>>();

/**
 * The Debian image with a JRE that the peer images start from (scripts/debian-base-image.sh, which
 * caches it; a cold build takes about a minute). One build per process however many peers ask.
 */
export function ensureJreBaseImage(log: (line: string) => void): Promise<string> {
  let pending = baseImages.get('jre');
  if (!pending) {
    pending = (async () => {
      const logDir = join(dockerCacheRoot(), 'logs');
      mkdirSync(logDir, { recursive: true });
      const outFile = join(logDir, `debian-jre-${process.pid}.log`);
      rmSync(outFile, { force: true });
      const code = await runLogged('bash', [join(REPO_ROOT, 'scripts', 'debian-base-image.sh'), '--jre'], {
        outFile,
        progress: { log, what: 'building the Debian + JRE base image', everyMs: 25_000 },
      });
      const last = tailFile(outFile, 1).trim();
      if (code !== 0 || !/^eddy-test\/debian-jre:[0-9a-f]+$/.test(last)) {
        throw new Error(
          `scripts/debian-base-image.sh --jre failed (exit ${code})\n--- last lines of ${outFile} ---\n${tailFile(outFile, 15)}`,
        );
      }
      // Every process that starts a peer gets here; only a failure's log is worth keeping.
      rmSync(outFile, { force: true });
      return last;
    })();
    baseImages.set('jre', pending);
    pending.catch(() => baseImages.delete('jre'));
  }
  return pending;
}

export interface JavaServerImageOptions {
  /** `kafka` or `elasticmq`: the image is `eddy-test/<name>:<version>-<hash>`. */
  name: string;
  version: string;
  /** The jar folder the jar backend uses (kafka-dist.ts, maven-classpath.ts). */
  libsDir: string;
  log: (line: string) => void;
}

/** Where the jars of a Java server image are inside it; its classpath is `<this>/*`. */
export const IMAGE_LIBS_DIR = '/opt/server/libs';

const DOCKERFILE = join(REPO_ROOT, 'test', 'harness', 'images', 'java-server', 'Dockerfile');

/**
 * Builds (once per content) the image of a Java server: the JRE base plus exactly the jars of
 * `libsDir`. The tag hashes the Dockerfile, the base and the jar names and sizes (a Maven artifact
 * version never changes content), so a changed jar set or Dockerfile builds a new image.
 */
export async function ensureJavaServerImage(options: JavaServerImageOptions): Promise<string> {
  const { name, version, libsDir, log } = options;
  const base = await ensureJreBaseImage(log);
  const jars = readdirSync(libsDir)
    .filter((f) => f.endsWith('.jar'))
    .sort();
  const hash = createHash('sha256')
    .update(readFileSync(DOCKERFILE))
    .update(`\0${base}\0${version}\0`)
    .update(jars.map((j) => `${j}:${statSync(join(libsDir, j)).size}`).join('\n'))
    .digest('hex')
    .slice(0, 12);
  const image = `eddy-test/${name}:${version}-${hash}`;
  if (imageExists(image)) return image;

  const root = dockerCacheRoot();
  mkdirSync(root, { recursive: true });
  return withDirLock(join(root, `.lock-${name}`), `building ${image}`, log, async () => {
    if (imageExists(image)) return image;
    const context = join(root, `context-${name}-${process.pid}`);
    rmSync(context, { recursive: true, force: true });
    mkdirSync(join(context, 'libs'), { recursive: true });
    try {
      copyFileSync(DOCKERFILE, join(context, 'Dockerfile'));
      for (const jar of jars) {
        // Hard links: the 40 MB of jars are not copied when the cache is on the same file system.
        try {
          linkSync(join(libsDir, jar), join(context, 'libs', jar));
        } catch {
          copyFileSync(join(libsDir, jar), join(context, 'libs', jar));
        }
      }
      const outFile = join(root, 'logs', `${name}-${version}-${hash}.log`);
      mkdirSync(join(root, 'logs'), { recursive: true });
      rmSync(outFile, { force: true });
      const started = Date.now();
      log(`building image ${image} from ${base} and ${jars.length} jars (log: ${outFile})`);
      // The classic builder: Debian's engine has no BuildKit client plugin, and nothing here needs it.
      const code = await runLogged(
        'docker',
        [
          'build',
          '--build-arg',
          `BASE_IMAGE=${base}`,
          '--label',
          `${LABEL}.image=${name}`,
          '-t',
          image,
          context,
        ],
        {
          outFile,
          env: { ...process.env, DOCKER_BUILDKIT: '0' },
          progress: { log, what: `building ${image}`, everyMs: 25_000 },
        },
      );
      if (code !== 0) {
        throw new Error(`docker build of ${image} failed (exit ${code})\n${tailFile(outFile, 15)}`);
      }
      log(`image ${image} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return image;
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
}

/** Containers of this process that are not removed yet: what the exit hook removes. */
const liveContainers = new Set<string>();
let cleanupInstalled = false;

/**
 * Removes the containers of test processes that are gone (what a SIGKILLed run leaves when even
 * its watchdog could not act, e.g. a machine restart), then makes sure this process's containers
 * go with it: an exit hook for ordinary exits and one detached watchdog shell for SIGKILL.
 */
function installContainerCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  sweepStaleContainers();
  onProcessExit(() => {
    if (liveContainers.size > 0) docker(['rm', '--force', '--volumes', ...liveContainers]);
  });
  const script = [
    'parent=$1; label=$2',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'ids=$(docker ps -aq --filter "label=$label")',
    '[ -z "$ids" ] || docker rm --force --volumes $ids >/dev/null 2>&1',
  ].join('\n');
  spawn('sh', ['-c', script, 'eddy-docker-watchdog', String(process.pid), `${OWNER_LABEL}=${process.pid}`], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

export function sweepStaleContainers(): void {
  const listed = docker([
    'ps',
    '-a',
    '--filter',
    `label=${LABEL}`,
    '--format',
    `{{.ID}} {{.Label "${OWNER_LABEL}"}}`,
  ]);
  if (!listed.ok) return;
  const stale = listed.out
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(([id, owner]) => id && !isAlive(Number(owner)))
    .map(([id]) => id as string);
  if (stale.length > 0) docker(['rm', '--force', '--volumes', ...stale]);
}

export interface ContainerPeerOptions {
  image: string;
  /** The program and its arguments, run in the container. */
  command: string[];
  /** The container's stdout and stderr are appended to this host file (its folder is mounted). */
  outFile: string;
  /** Host folders mounted read-write at the same path, so paths in configs mean the same inside. */
  mounts: string[];
  /** Names the container: `eddy-<label>-<pid>-<random>`. */
  label: string;
}

/** Single quotes for sh: what lets a command line travel through `sh -c` unchanged. */
export function shellQuote(args: string[]): string {
  return args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * Starts a peer in a container and returns it as the same `PeerProcess` a locally spawned one is:
 * `pid` is the host pid of the container's main process (so liveness checks work unchanged),
 * `stop` stops and removes the container. It runs as the calling user, so what it writes into the
 * mounted folders can be removed like the jar backend's files.
 */
export async function startContainerPeer(options: ContainerPeerOptions): Promise<PeerProcess> {
  // Ryuk, testcontainers' reaper, is an image from a registry we cannot reach; the labels, the
  // exit hook and the watchdog above do its job.
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const { GenericContainer, PullPolicy, getContainerRuntimeClient } = await import('testcontainers');
  installContainerCleanup();
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = `eddy-${options.label}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const started = await new GenericContainer(options.image)
    .withName(name)
    .withPullPolicy(PullPolicy.neverPull())
    .withNetworkMode('host')
    .withUser(`${uid}:${gid}`)
    .withEnvironment({ HOME: '/tmp' })
    .withLabels({ [LABEL]: options.label, [OWNER_LABEL]: String(process.pid) })
    .withBindMounts(options.mounts.map((dir) => ({ source: dir, target: dir, mode: 'rw' as const })))
    .withEntrypoint(['/bin/sh', '-c', 'exec "$@" >>"$0" 2>&1', options.outFile])
    .withCommand(options.command)
    .start();
  const id = started.getId();
  liveContainers.add(id);
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(id);
  const pid = (await client.container.inspect(container)).State.Pid || undefined;

  let hasExited = false;
  let exitReason = '';
  const exited = (container.wait() as Promise<{ StatusCode: number }>).then(
    ({ StatusCode }) => {
      hasExited = true;
      // 128 + 9: the engine's way of saying the process was killed, as a signal is for a process.
      exitReason = StatusCode === 137 ? 'signal SIGKILL' : `code ${StatusCode}`;
      return StatusCode === 137 ? null : StatusCode;
    },
    (err: Error) => {
      hasExited = true;
      exitReason = `container wait failed: ${err.message}`;
      return null;
    },
  );
  let stopping: Promise<void> | undefined;
  return {
    pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    get exitReason() {
      return exitReason;
    },
    stop(graceMs = 10_000, signal = 'SIGTERM') {
      stopping ??= (async () => {
        try {
          if (!hasExited) {
            if (signal === 'SIGKILL') await container.kill({ signal: 'SIGKILL' });
            else await container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) });
          }
        } catch {
          // It exited in between: "is not running".
        }
        await exited;
        await container.remove({ force: true, v: true }).catch(() => {});
        liveContainers.delete(id);
      })();
      return stopping;
    },
  };
}
