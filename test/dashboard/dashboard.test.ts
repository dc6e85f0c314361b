/**
 * Issue 16's dashboard, in a real browser: headless Chromium (Debian's `chromium`, scripts/chromium.sh)
 * driven by puppeteer-core, against a spawned `eddy dev` on a copy of examples/quickstart (as
 * test/cli/quickstart.test.ts runs it). The page is opened through the one-time login link eddy dev
 * prints. The tests run in order on the one page: the topology renders every resource, Ready; sent
 * events show in the event stream and move an edge's rate; the CESQL filter box shows the API's 400
 * and then filters; a Trigger added and one edited on disk change the picture without a reload;
 * clicking a node shows its conditions and recent events. Screenshots go to .cache/dashboard/.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, ROOT } from '../cli/helpers.ts';
import { DevOutput, editCopy, quickstartEnv, stopDev } from '../cli/quickstart-kit.ts';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';

/** EDDY_CHROMIUM (scripts/chromium.sh exports it), else the first browser on the PATH. */
function findChromium(): string | undefined {
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

const CHROMIUM = findChromium();
if (!CHROMIUM)
  console.warn(
    "test/dashboard: SKIPPED: no Chromium found (set EDDY_CHROMIUM, or run scripts/chromium.sh as root to install Debian's chromium)",
  );

/**
 * The few DOM pieces the page functions use, typed here: the tests' tsconfig has no DOM lib (it would
 * clash with Node's types), and these functions run in the page, not in Node.
 */
interface PageElement {
  dataset: Record<string, string | undefined>;
  value: string;
}
interface PageGlobals {
  document: { querySelector(selector: string): (PageElement & { textContent: string | null }) | null };
  notReloaded?: boolean;
}

const SHOTS = join(ROOT, '.cache/dashboard');
const ALL = 'Trigger/default/everything-to-display';
const ORDERS = 'Trigger/default/orders-to-processor';
const RESOURCES = [
  'Broker/default/default',
  'PingSource/default/heartbeat',
  'ContainerSource/default/shop',
  'GitHubSource/default/github',
  ALL,
  ORDERS,
  'Service/default/event-display',
  'Service/default/order-processor',
  'Revision/default/event-display-00001',
  'Revision/default/order-processor-00001',
];

let work = '';
let manifests = '';
let dev: ChildProcess | undefined;
const devOutput = new DevOutput();
let browser: Browser | undefined;
let page: Page;
let ingress = '';
let adminUrl = '';

const nodeSelector = (id: string) => `g.node[data-id="${id}"]`;
const edgeSelector = (from: string, to: string, kind: string) => `g.edge[data-id="${from}->${to}:${kind}"]`;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** What a page function returns once it holds, or a timeout naming `what` with eddy dev's output. */
async function waitInPage<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return waitFor(what, fn, { ...devOutput.waiting(timeoutMs), ignoreErrors: false });
}

function edgeRate(selector: string): Promise<number> {
  return page.$eval(selector, (g) => Number((g as unknown as PageElement).dataset.rate ?? 'NaN'));
}

/** Posts one binary-mode CloudEvent to the quickstart's Broker; its id. */
async function sendEvent(type: string): Promise<string> {
  const id = randomUUID();
  const res = await fetch(`${ingress}/default/default`, {
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

describe.skipIf(!CHROMIUM)('the dashboard in a browser', () => {
  beforeAll(async () => {
    buildCli();
    await mkdir(SHOTS, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'eddy-dashboard-'));
    manifests = join(work, 'quickstart');
    await cp(join(ROOT, 'examples/quickstart'), manifests, { recursive: true });
    const [webhookPort] = await freePorts(1);
    await editCopy(join(manifests, 'github-source.yaml'), [['"8099"', `"${webhookPort}"`]]);
    const dataDir = join(work, 'data');
    dev = devOutput.spawn(['-f', manifests, '--data-dir', dataDir, '--port', '0'], {
      cwd: ROOT,
      env: quickstartEnv(dataDir, join(work, 'events.jsonl')),
    });
    const link = await waitFor(
      'eddy dev to print the dashboard link',
      () =>
        /^ {2}dashboard (http:\/\/127\.0\.0\.1:\d+\/dashboard\/login\?code=\S+)/m.exec(devOutput.text)?.[1],
      devOutput.waiting(60_000),
    );
    ingress = /^ {2}ingress {2}(\S+)/m.exec(devOutput.text)?.[1] ?? '';
    adminUrl = new URL(link).origin;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container has no user namespaces for Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1700, height: 950 });
    await page.goto(link);
  });

  afterAll(async () => {
    await browser?.close();
    await stopDev(dev);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('logs in with the one-time link: an HttpOnly SameSite=Strict cookie, the code spent and gone from the address bar', async () => {
    expect(page.url()).toBe(`${adminUrl}/dashboard/`);
    const cookies = await browser!.cookies();
    const session = cookies.find((c) => c.name.startsWith('eddy_dashboard_'));
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // Without the cookie or the token the API answers 401, and the spent code does not log in again.
    expect((await fetch(`${adminUrl}/v1/topology`)).status).toBe(401);
    const code = /login\?code=(\S+)/.exec(devOutput.text)?.[1];
    const again = await fetch(`${adminUrl}/dashboard/login?code=${code}`, { redirect: 'manual' });
    expect(again.headers.get('location')).toBe('/dashboard/?login=expired');
    expect(again.headers.get('set-cookie')).toBeNull();
    // The cookie reads but never writes: an apply with it is refused.
    const write = await fetch(`${adminUrl}/v1/apply`, {
      method: 'POST',
      headers: { cookie: `${session!.name}=${session!.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: '', file: 'x' }),
    });
    expect(write.status).toBe(401);
  });

  it("renders the quickstart's topology: every resource as a node with its name, Ready", async () => {
    await waitInPage(
      'every quickstart resource drawn, Ready',
      () =>
        page.evaluate((ids) => {
          const nodes = ids.map((id) =>
            (globalThis as unknown as PageGlobals).document.querySelector(`g.node[data-id="${id}"]`),
          );
          return nodes.every((g) => g?.dataset.ready === 'True') ? true : undefined;
        }, RESOURCES),
      90_000,
    );
    for (const id of RESOURCES) {
      const text = await page.$eval(nodeSelector(id), (g) => g.textContent ?? '');
      expect(text).toContain(id.split('/')[2]);
    }
    expect(
      await page.$eval(nodeSelector(ORDERS), (g) => (g as unknown as PageElement).dataset.filter),
    ).toContain("type IN ('com.example.order.created', 'com.example.order.updated')");
    expect(await page.$eval(nodeSelector(ORDERS), (g) => g.textContent)).toMatch(/lag \d+/);
    expect(
      await page.$eval(nodeSelector('Revision/default/event-display-00001'), (g) => g.textContent),
    ).toMatch(/replicas 1\/1/);
    // Ready is the colour: the class the stylesheet colours green.
    expect(await page.$eval(nodeSelector(ALL), (g) => g.getAttribute('class'))).toContain('ready-True');
    await page.$(edgeSelector('Broker/default/default', ALL, 'route'));
    await shot('1-topology');
  });

  it('shows a sent event in the event stream and moves the rate on its edges', async () => {
    await waitInPage('the stream to tail the broker', () =>
      page.$eval('#tail-status', (e) =>
        e.textContent?.startsWith('tailing default/default') ? true : undefined,
      ),
    );
    const edge = edgeSelector('Broker/default/default', ALL, 'route');
    const before = await edgeRate(edge);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await sendEvent('dev.eddy.dashboard.burst'));
    await waitInPage('the sent events in the stream', () =>
      page.evaluate(
        (wanted) =>
          wanted.every((id) =>
            (globalThis as unknown as PageGlobals).document.querySelector(`li.event[data-id="${id}"]`),
          )
            ? true
            : undefined,
        ids,
      ),
    );
    // 30 events in the 10 s window: at least 1/s more than before on the broker -> trigger edge.
    const after = await waitInPage('the rate to rise', async () => {
      const rate = await edgeRate(edge);
      return rate >= before + 1 ? rate : undefined;
    });
    expect(after).toBeGreaterThanOrEqual(before + 1);
    expect(await page.$eval(edge, (g) => g.querySelector('text')?.textContent)).toMatch(/^\d+\.\d\d\/s$/);
    expect(await page.$eval(edge, (g) => g.getAttribute('class'))).toContain('flowing');
    await shot('2-events');
  });

  it("filters the stream with CESQL; a bad filter shows the API's 400 with its position", async () => {
    await page.$eval('#tail-filter', (e) => {
      (e as unknown as PageElement).value = '';
    });
    await page.type('#tail-filter', 'type ==');
    await page.click('#tail-start');
    const error = await waitInPage('the filter error', () =>
      page.$eval('#tail-status.error', (e) => e.textContent ?? undefined).catch(() => undefined),
    );
    expect(error).toMatch(/^invalid filter: .*column 7/);
    await page.$eval('#tail-filter', (e) => {
      (e as unknown as PageElement).value = "type = 'dev.eddy.dashboard.filtered'";
    });
    await page.click('#tail-start');
    await waitInPage('the filtered stream to be live', () =>
      page.$eval('#tail-status', (e) => (e.textContent?.startsWith('tailing') ? true : undefined)),
    );
    await sendEvent('dev.eddy.dashboard.burst');
    const id = await sendEvent('dev.eddy.dashboard.filtered');
    await waitInPage('the filtered event', () =>
      page.$(`li.event[data-id="${id}"]`).then((e) => (e ? true : undefined)),
    );
    const types = await page.$$eval('li.event', (items) =>
      items.map((li) => (li as unknown as PageElement).dataset.type),
    );
    expect(new Set(types)).toEqual(new Set(['dev.eddy.dashboard.filtered']));
  });

  it('follows a Trigger added and a filter edited on disk, without a reload', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).notReloaded = true;
    });
    const triggers = join(manifests, 'triggers.yaml');
    await writeFile(
      triggers,
      `${await readFile(triggers, 'utf8')}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: added-from-disk
spec:
  broker: default
  filter:
    attributes:
      type: dev.eddy.dashboard.added
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    await editCopy(triggers, [["'com.example.order.updated'", "'com.example.order.cancelled'"]]);
    const added = 'Trigger/default/added-from-disk';
    await waitInPage('the added Trigger drawn with its filter and edges', () =>
      page.evaluate(
        (id, edge) => {
          const g = (globalThis as unknown as PageGlobals).document.querySelector(`g.node[data-id="${id}"]`);
          return g?.dataset.filter === 'type=dev.eddy.dashboard.added' &&
            (globalThis as unknown as PageGlobals).document.querySelector(edge)
            ? true
            : undefined;
        },
        added,
        edgeSelector('Broker/default/default', added, 'route'),
      ),
    );
    expect(await page.$eval(nodeSelector(added), (g) => g.textContent)).toContain('added-from-disk');
    await waitInPage('the edited filter', () =>
      page.$eval(nodeSelector(ORDERS), (g) =>
        (g as unknown as PageElement).dataset.filter?.includes("'com.example.order.cancelled'")
          ? true
          : undefined,
      ),
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    await shot('3-edited');
  });

  it('shows a node’s conditions and recent events when it is clicked', async () => {
    await page.click(nodeSelector(ORDERS));
    await waitInPage('the details of the clicked Trigger', () =>
      page
        .$eval('#details', (d) => (d.querySelector('table.conditions') ? d.textContent : undefined))
        .catch(() => undefined),
    );
    const rows = await page.$$eval('#details table.conditions tr', (trs) =>
      trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows).toContainEqual(expect.arrayContaining(['Ready', 'True']));
    expect(await page.$eval('#details h2', (h) => h.textContent)).toBe('Trigger default/orders-to-processor');
    // Its recent events: created from the file, then updated by the edit above.
    const events = await page.$$eval('#details table.events td', (tds) =>
      tds.map((td) => td.textContent).join(' '),
    );
    expect(events).toMatch(/Updated/);
    expect(await page.$eval(nodeSelector(ORDERS), (g) => g.getAttribute('class'))).toContain('selected');
    await shot('4-details');
  });
});
