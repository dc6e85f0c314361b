// What the dashboard's browser tests share: finding Chromium, `eddy dev` on a copy of the quickstart
// (optionally in a namespace of its own, for a shared Kafka) with headless Chromium logged in through
// the link it prints, and the page helpers.

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { expect } from 'vitest';
import { buildCli, ROOT } from '../cli/helpers.ts';
import { DevOutput, editCopy, quickstartEnv, stopDev } from '../cli/quickstart-kit.ts';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';

/** EDDY_CHROMIUM (scripts/chromium.sh exports it), else the first browser on the PATH. */
export function findChromium(): string | undefined {
  const candidates = [process.env.EDDY_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome-stable'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      return (
        execFileSync('sh', ['-c', 'command -v "$1"', 'sh', candidate], { encoding: 'utf8' }).trim() ||
        undefined
      );
    } catch {}
  }
  return undefined;
}

/**
 * The few DOM pieces the page functions use, typed here: the tests' tsconfig has no DOM lib (it would
 * clash with Node's types), and these functions run in the page, not in Node.
 */
export interface PageElement {
  dataset: Record<string, string | undefined>;
  value: string;
}
export interface PageGlobals {
  document: { querySelector(selector: string): (PageElement & { textContent: string | null }) | null };
  notReloaded?: boolean;
}

export const SHOTS = join(ROOT, '.cache/dashboard');

export const nodeSelector = (id: string) => `g.node[data-id="${id}"]`;
export const edgeSelector = (from: string, to: string, kind: string) =>
  `g.edge[data-id="${from}->${to}:${kind}"]`;

/** The quickstart's resources as the topology names them. */
export function quickstartNodes(ns: string): string[] {
  return [
    `Broker/${ns}/default`,
    `PingSource/${ns}/heartbeat`,
    `ContainerSource/${ns}/shop`,
    `GitHubSource/${ns}/github`,
    `Trigger/${ns}/everything-to-display`,
    `Trigger/${ns}/orders-to-processor`,
    `Service/${ns}/event-display`,
    `Service/${ns}/order-processor`,
    `Revision/${ns}/event-display-00001`,
    `Revision/${ns}/order-processor-00001`,
  ];
}

export class DashboardRun {
  work = '';
  manifests = '';
  dev: ChildProcess | undefined;
  readonly devOutput = new DevOutput();
  browser: Browser | undefined;
  page!: Page;
  ingress = '';
  adminUrl = '';
  /** Uncaught errors of the page's scripts: a test ends by expecting none. */
  readonly pageErrors: string[] = [];

  /** `namespace`: every quickstart manifest is moved there (default: they stay in `default`). */
  constructor(
    readonly chromium: string,
    readonly namespace = 'default',
  ) {}

  /** `eddy dev <args>` on a copy of the quickstart, and the browser on the login link it printed. */
  async start(args: string[] = []): Promise<void> {
    buildCli();
    await mkdir(SHOTS, { recursive: true });
    this.work = await mkdtemp(join(tmpdir(), 'eddy-dashboard-'));
    this.manifests = join(this.work, 'quickstart');
    await cp(join(ROOT, 'examples/quickstart'), this.manifests, { recursive: true });
    const [webhookPort] = await freePorts(1);
    await editCopy(join(this.manifests, 'github-source.yaml'), [['"8099"', `"${webhookPort}"`]]);
    if (this.namespace !== 'default')
      for (const file of (await readdir(this.manifests)).filter((f) => f.endsWith('.yaml'))) {
        const path = join(this.manifests, file);
        const text = await readFile(path, 'utf8');
        await writeFile(path, text.replace(/^metadata:$/gm, `metadata:\n  namespace: ${this.namespace}`));
      }
    const dataDir = join(this.work, 'data');
    this.dev = this.devOutput.spawn(['-f', this.manifests, '--data-dir', dataDir, '--port', '0', ...args], {
      cwd: ROOT,
      env: quickstartEnv(dataDir, join(this.work, 'events.jsonl')),
    });
    const link = await waitFor(
      'eddy dev to print the dashboard link',
      () =>
        /^ {2}dashboard (http:\/\/127\.0\.0\.1:\d+\/dashboard\/login\?code=\S+)/m.exec(
          this.devOutput.text,
        )?.[1],
      this.devOutput.waiting(90_000),
    );
    this.ingress = /^ {2}ingress {2}(\S+)/m.exec(this.devOutput.text)?.[1] ?? '';
    this.adminUrl = new URL(link).origin;
    this.browser = await puppeteer.launch({
      executablePath: this.chromium,
      headless: true,
      // Root in a container has no user namespaces for Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    this.page = await this.browser.newPage();
    this.page.on('pageerror', (error) => this.pageErrors.push(String(error)));
    await this.page.setViewport({ width: 1700, height: 950 });
    await this.page.goto(link);
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await stopDev(this.dev);
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  /** What a page function returns once it holds, or a timeout naming `what` with eddy dev's output. */
  waitInPage<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    return waitFor(what, fn, { ...this.devOutput.waiting(timeoutMs), ignoreErrors: false });
  }

  edgeRate(selector: string): Promise<number> {
    return this.page.$eval(selector, (g) => Number((g as unknown as PageElement).dataset.rate ?? 'NaN'));
  }

  /** Waits until every node in `ids` is drawn, Ready. */
  waitAllReady(ids: string[], timeoutMs = 90_000): Promise<true> {
    return this.waitInPage(
      'every quickstart resource drawn, Ready',
      () =>
        this.page.evaluate((wanted) => {
          const doc = (globalThis as unknown as PageGlobals).document;
          const nodes = wanted.map((id) => doc.querySelector(`g.node[data-id="${id}"]`));
          return nodes.every((g) => g?.dataset.ready === 'True') ? true : undefined;
        }, ids),
      timeoutMs,
    );
  }

  /** Waits until the event stream tails the quickstart's broker. */
  waitTailing(): Promise<true> {
    return this.waitInPage('the stream to tail the broker', () =>
      this.page.$eval('#tail-status', (e) => (e.textContent?.startsWith('tailing ') ? true : undefined)),
    );
  }

  /** Waits until the stream shows the events `ids`. */
  waitInStream(ids: string[]): Promise<true> {
    return this.waitInPage('the sent events in the stream', () =>
      this.page.evaluate(
        (wanted) =>
          wanted.every((id) =>
            (globalThis as unknown as PageGlobals).document.querySelector(`li.event[data-id="${id}"]`),
          )
            ? true
            : undefined,
        ids,
      ),
    );
  }

  /** Posts one binary-mode CloudEvent to the quickstart's Broker; its id. */
  async sendEvent(type: string): Promise<string> {
    const id = randomUUID();
    const res = await fetch(`${this.ingress}/${this.namespace}/default`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': id,
        'ce-type': type,
        'ce-source': '/dashboard-test',
      },
      body: JSON.stringify({ from: 'the dashboard test' }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    return id;
  }
}
