// The `eddy` container image (Dockerfile, scripts/build-image.sh) builds from this repository and its
// one binary answers inside it, as a non-root user, with production dependencies only. Needs a Docker
// engine (scripts/docker.sh); without one, or with EDDY_TEST_DOCKER=0, the test is skipped and says why.
// The first build on a machine takes minutes (Debian base, dependencies, tsc); Docker's layer cache
// makes later ones take seconds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerCacheRoot, peerBackend } from '../harness/docker.ts';
import { REPO_ROOT } from '../harness/harness-cache.ts';
import { runLogged, tailFile } from '../harness/processes.ts';

const { backend, why } = peerBackend();
const cliVersion = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

function docker(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** Builds with scripts/build-image.sh (its output in a log file, progress every 25 s); returns the image. */
async function buildImage(): Promise<string> {
  const logDir = join(dockerCacheRoot(), 'logs');
  mkdirSync(logDir, { recursive: true });
  const outFile = join(logDir, `eddy-image-${process.pid}.log`);
  rmSync(outFile, { force: true });
  const log = (line: string) => process.stderr.write(`[image] ${line}\n`);
  const code = await runLogged('bash', [join(REPO_ROOT, 'scripts', 'build-image.sh')], {
    outFile,
    progress: { log, what: 'building the eddy image', everyMs: 25_000 },
  });
  const image = tailFile(outFile, 1).trim();
  expect(code, `scripts/build-image.sh failed; last lines of ${outFile}:\n${tailFile(outFile, 30)}`).toBe(0);
  return image;
}

describe('the eddy container image', () => {
  if (backend !== 'docker') {
    // A skipped file shows no test names in vitest's default report; this line says why.
    process.stderr.write(`[image] the eddy image test is skipped: no Docker here (${why})\n`);
    it.skip(`is not built: no Docker here (${why})`, () => {});
    return;
  }

  it('builds, runs `eddy version` and `eddy controller --help` as a non-root user', {
    timeout: 30 * 60_000,
  }, async () => {
    const image = await buildImage();
    expect(image).toBe(`eddy:${cliVersion}`);

    const version = docker(['run', '--rm', image, 'version']);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toMatch(
      new RegExp(`^eddy ${cliVersion.replace(/\./g, '\\.')} \\(node v24\\.`),
    );

    const help = docker(['run', '--rm', image, 'controller', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: eddy controller');
    expect(help.stdout).toContain('--kubeconfig <file>');

    const unknown = docker(['run', '--rm', image, 'no-such-command']);
    expect(unknown.status).not.toBe(0);

    const config = JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', image]).stdout) as {
      User: string;
      Entrypoint: string[];
      ExposedPorts: Record<string, object>;
    };
    expect(config.Entrypoint).toEqual(['eddy']);
    expect(config.User).toBe('10001:10001');
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(['8080/tcp', '8081/tcp', '8443/tcp']);
    expect(docker(['run', '--rm', '--entrypoint', 'id', image, '-u']).stdout.trim()).toBe('10001');

    // Production dependencies only: no compiler, test runner or TypeScript sources in the image.
    const contents = docker([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      image,
      '-c',
      'ls /opt/eddy/node_modules/.pnpm; find /opt/eddy/packages -name "*.ts" ! -name "*.d.ts" | head -n 3',
    ]);
    expect(contents.status).toBe(0);
    expect(contents.stdout).toMatch(/^kafkajs@/m);
    expect(contents.stdout).not.toMatch(/^(typescript|vitest|@biomejs)/m);
    expect(contents.stdout).not.toMatch(/\.ts$/m);
  });
});
