// Starts Google's Pub/Sub fake (`pstest` from the Go module cloud.google.com/go/pubsub/v2) on a
// free 127.0.0.1 port, for tests of Pub/Sub consumers. The tiny Go main in ./pstest-server is
// built once per source version into a git-ignored cache.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientConfig } from '@google-cloud/pubsub';
import { newRunLogDir, peerCacheRoot, withDirLock } from './harness-cache.ts';
import {
  requireTool,
  runLogged,
  sleep,
  spawnPeer,
  startTimeoutMs,
  tailFile,
  waitForLogLine,
} from './processes.ts';
import { pubsubSdk } from './pubsub-sdk.ts';

const { PubSub } = pubsubSdk;

export const PSTEST_PROJECT_ID = 'eddy-test';

export const PSTEST_SOURCE_DIR = fileURLToPath(new URL('./pstest-server/', import.meta.url));
const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go'];

export interface PubSubFake {
  /** `127.0.0.1:<port>`, what PUBSUB_EMULATOR_HOST would hold. */
  readonly emulatorHost: string;
  readonly projectId: string;
  /** The server's stdout/stderr. */
  readonly logFile: string;
  readonly pid: number | undefined;
  /** SIGTERM, SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPubSubFakeOptions {
  /** Progress lines (default: stderr with a `[pstest]` prefix). */
  log?: (line: string) => void;
  /** How long to wait for the server once built (default 30 s, env EDDY_PSTEST_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
}

const defaultLog = (line: string) => process.stderr.write(`[pstest] ${line}\n`);

export function pstestCacheRoot(): string {
  return peerCacheRoot('pstest', 'EDDY_PSTEST_CACHE_DIR');
}

/**
 * Options for `new PubSub(...)` against an emulator, given explicitly so that no test depends on
 * (or changes) PUBSUB_EMULATOR_HOST in its own environment. emulatorMode means plain-text gRPC
 * and no Google credentials. Naming the universe domain keeps google-gax from asking the auth
 * library for it, which would otherwise probe the GCE metadata server over the network.
 */
export function pubSubClientOptions(peer: { emulatorHost: string; projectId: string }): ClientConfig {
  return {
    projectId: peer.projectId,
    apiEndpoint: peer.emulatorHost,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  };
}

/** The binary's cache key: a change to the Go sources or their dependency pins rebuilds it. */
export function pstestSourceHash(): string {
  const hash = createHash('sha256');
  for (const name of SOURCE_FILES) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(join(PSTEST_SOURCE_DIR, name)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Builds test/harness/pstest-server with `go build` on first use; returns the binary's path. */
export async function ensurePstestBinary(log: (line: string) => void = () => {}): Promise<string> {
  const dir = join(pstestCacheRoot(), pstestSourceHash());
  const binary = join(dir, 'pstest-server');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  return withDirLock(join(dir, '.lock'), 'building pstest-server', log, async () => {
    if (existsSync(binary)) return binary;
    requireTool('go', ['version'], 'Go (1.26 or newer)', 'build the Pub/Sub fake (pstest) for tests');
    const buildLog = join(dir, 'go-build.log');
    const partial = `${binary}.partial-${process.pid}`;
    rmSync(partial, { force: true });
    log(
      `building pstest-server with go; the first build on a machine downloads ~600 MB of Go modules and takes a few minutes (log: ${buildLog})`,
    );
    const started = Date.now();
    const code = await runLogged('go', ['build', '-o', partial, '.'], {
      cwd: PSTEST_SOURCE_DIR,
      outFile: buildLog,
      // -mod=mod: no vendor folder; GOWORK=off: a go.work above the repository must not interfere.
      env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' },
      progress: { log, what: 'building pstest-server' },
    });
    if (code !== 0 || !existsSync(partial)) {
      rmSync(partial, { force: true });
      throw new Error(
        `building pstest-server failed (go build exit ${code}); see ${buildLog}:\n${tailFile(buildLog, 10)}`,
      );
    }
    renameSync(partial, binary);
    log(`pstest-server built in ${((Date.now() - started) / 1000).toFixed(1)} s (${binary})`);
    return binary;
  });
}

/** Creates and deletes a topic: the fake answers real client calls. */
async function waitForTopicCreation(
  peer: { emulatorHost: string; projectId: string },
  logFile: string,
  deadline: number,
): Promise<void> {
  const name = `eddy-harness-ready-${process.pid}-${Date.now()}`;
  let lastProblem = 'no answer yet';
  for (;;) {
    const pubsub = new PubSub(pubSubClientOptions(peer));
    try {
      const [topic] = await pubsub.createTopic(name, { timeout: 5000, maxRetries: 0 });
      await topic.delete();
      return;
    } catch (err) {
      lastProblem = (err as Error).message;
    } finally {
      await pubsub.close().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new Error(
        `pstest at ${peer.emulatorHost} did not create a topic in time (${lastProblem})\n--- last lines of ${logFile} ---\n${tailFile(logFile, 20)}`,
      );
    }
    await sleep(200);
  }
}

export async function startPubSubFake(options: StartPubSubFakeOptions = {}): Promise<PubSubFake> {
  const log = options.log ?? defaultLog;
  const timeoutMs = startTimeoutMs(options.startTimeoutMs, 'EDDY_PSTEST_START_TIMEOUT_MS', 30_000);
  const started = Date.now();
  const binary = await ensurePstestBinary(log);
  const runDir = newRunLogDir(join(pstestCacheRoot(), 'logs'));
  const logFile = join(runDir, 'pstest.log');
  // The server stops when its stdin closes, which also happens if this process is killed.
  const proc = spawnPeer(binary, ['-addr', '127.0.0.1:0'], {
    outFile: logFile,
    label: 'pstest',
    stdin: 'pipe',
  });
  try {
    const deadline = Date.now() + timeoutMs;
    const listening = await waitForLogLine(
      logFile,
      /^pstest listening on (127\.0\.0\.1:\d+)$/m,
      proc,
      deadline,
      'pstest-server',
    );
    const peer = { emulatorHost: listening[1]!, projectId: PSTEST_PROJECT_ID };
    await waitForTopicCreation(peer, logFile, deadline);
    log(`pstest ready at ${peer.emulatorHost} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { ...peer, logFile, pid: proc.pid, stop: () => proc.stop(5000) };
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }
}
