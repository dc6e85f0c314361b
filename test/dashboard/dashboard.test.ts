/**
 * Issue 16's dashboard, in a real browser: headless Chromium (Debian's `chromium`, scripts/chromium.sh)
 * driven by puppeteer-core, against a spawned `eddy dev` on a copy of examples/quickstart (as
 * test/cli/quickstart.test.ts runs it). The page is opened through the one-time login link eddy dev
 * prints. The tests run in order on the one page: the topology renders every resource, Ready; sent
 * events show in the event stream and move an edge's rate; the CESQL filter box shows the API's 400
 * and then filters; a Trigger added and one edited on disk change the picture without a reload;
 * clicking a node shows its conditions and recent events. Screenshots go to .cache/dashboard/.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editCopy } from '../cli/quickstart-kit.ts';
import {
  DashboardRun,
  edgeSelector,
  findChromium,
  nodeSelector,
  type PageElement,
  type PageGlobals,
  quickstartNodes,
} from './dashboard-kit.ts';

const CHROMIUM = findChromium();
if (!CHROMIUM)
  console.warn(
    "test/dashboard: SKIPPED: no Chromium found (set EDDY_CHROMIUM, or run scripts/chromium.sh as root to install Debian's chromium)",
  );

const ALL = 'Trigger/default/everything-to-display';
const ORDERS = 'Trigger/default/orders-to-processor';
const RESOURCES = quickstartNodes('default');

describe.skipIf(!CHROMIUM)('the dashboard in a browser', () => {
  const run = new DashboardRun(CHROMIUM ?? '');
  const page = () => run.page;
  beforeAll(() => run.start());
  afterAll(() => run.stop());

  it('logs in with the one-time link: an HttpOnly SameSite=Strict cookie, the code spent and gone from the address bar', async () => {
    expect(page().url()).toBe(`${run.adminUrl}/dashboard/`);
    const cookies = await run.browser!.cookies();
    const session = cookies.find((c) => c.name.startsWith('eddy_dashboard_'));
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // Without the cookie or the token the API answers 401, and the spent code does not log in again.
    expect((await fetch(`${run.adminUrl}/v1/topology`)).status).toBe(401);
    const code = /login\?code=(\S+)/.exec(run.devOutput.text)?.[1];
    const again = await fetch(`${run.adminUrl}/dashboard/login?code=${code}`, { redirect: 'manual' });
    expect(again.headers.get('location')).toBe('/dashboard/?login=expired');
    expect(again.headers.get('set-cookie')).toBeNull();
    // The cookie reads but never writes: an apply with it is refused.
    const write = await fetch(`${run.adminUrl}/v1/apply`, {
      method: 'POST',
      headers: { cookie: `${session!.name}=${session!.value}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: '', file: 'x' }),
    });
    expect(write.status).toBe(401);
  });

  it("renders the quickstart's topology: every resource as a node with its name, Ready", async () => {
    await run.waitAllReady(RESOURCES);
    for (const id of RESOURCES) {
      const text = await page().$eval(nodeSelector(id), (g) => g.textContent ?? '');
      expect(text).toContain(id.split('/')[2]);
    }
    expect(
      await page().$eval(nodeSelector(ORDERS), (g) => (g as unknown as PageElement).dataset.filter),
    ).toContain("type IN ('com.example.order.created', 'com.example.order.updated')");
    expect(await page().$eval(nodeSelector(ORDERS), (g) => g.textContent)).toMatch(/lag \d+/);
    expect(
      await page().$eval(nodeSelector('Revision/default/event-display-00001'), (g) => g.textContent),
    ).toMatch(/replicas 1\/1/);
    // Ready is the colour: the class the stylesheet colours green.
    expect(await page().$eval(nodeSelector(ALL), (g) => g.getAttribute('class'))).toContain('ready-True');
    expect(await page().$(edgeSelector('Broker/default/default', ALL, 'route'))).not.toBeNull();
    await run.shot('1-topology');
  });

  it('shows a sent event in the event stream and moves the rate on its edges', async () => {
    await run.waitTailing();
    const edge = edgeSelector('Broker/default/default', ALL, 'route');
    const before = await run.edgeRate(edge);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await run.sendEvent('dev.eddy.dashboard.burst'));
    await run.waitInStream(ids);
    // 30 events in the 10 s window: at least 1/s more than before on the broker -> trigger edge.
    const after = await run.waitInPage('the rate to rise', async () => {
      const rate = await run.edgeRate(edge);
      return rate >= before + 1 ? rate : undefined;
    });
    expect(after).toBeGreaterThanOrEqual(before + 1);
    expect(await page().$eval(edge, (g) => g.querySelector('text')?.textContent)).toMatch(/^\d+\.\d\d\/s$/);
    expect(await page().$eval(edge, (g) => g.getAttribute('class'))).toContain('flowing');
    await run.shot('2-events');
  });

  it("filters the stream with CESQL; a bad filter shows the API's 400 with its position", async () => {
    await page().$eval('#tail-filter', (e) => {
      (e as unknown as PageElement).value = '';
    });
    await page().type('#tail-filter', 'type ==');
    await page().click('#tail-start');
    const error = await run.waitInPage('the filter error', () =>
      page()
        .$eval('#tail-status.error', (e) => e.textContent ?? undefined)
        .catch(() => undefined),
    );
    expect(error).toMatch(/^invalid filter: .*column 7/);
    await page().$eval('#tail-filter', (e) => {
      (e as unknown as PageElement).value = "type = 'dev.eddy.dashboard.filtered'";
    });
    await page().click('#tail-start');
    await run.waitInPage('the filtered stream to be live', () =>
      page().$eval('#tail-status', (e) => (e.textContent?.startsWith('tailing') ? true : undefined)),
    );
    await run.sendEvent('dev.eddy.dashboard.burst');
    const id = await run.sendEvent('dev.eddy.dashboard.filtered');
    await run.waitInPage('the filtered event', () =>
      page()
        .$(`li.event[data-id="${id}"]`)
        .then((e) => (e ? true : undefined)),
    );
    const types = await page().$$eval('li.event', (items) =>
      items.map((li) => (li as unknown as PageElement).dataset.type),
    );
    expect(new Set(types)).toEqual(new Set(['dev.eddy.dashboard.filtered']));
  });

  it('follows a Trigger added and a filter edited on disk, without a reload', async () => {
    await page().evaluate(() => {
      (globalThis as unknown as PageGlobals).notReloaded = true;
    });
    const triggers = join(run.manifests, 'triggers.yaml');
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
    await run.waitInPage('the added Trigger drawn with its filter and edges', () =>
      page().evaluate(
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
    expect(await page().$eval(nodeSelector(added), (g) => g.textContent)).toContain('added-from-disk');
    await run.waitInPage('the edited filter', () =>
      page().$eval(nodeSelector(ORDERS), (g) =>
        (g as unknown as PageElement).dataset.filter?.includes("'com.example.order.cancelled'")
          ? true
          : undefined,
      ),
    );
    expect(await page().evaluate(() => (globalThis as unknown as PageGlobals).notReloaded)).toBe(true);
    await run.shot('3-edited');
  });

  it('shows a node’s conditions and recent events when it is clicked', async () => {
    await page().click(nodeSelector(ORDERS));
    await run.waitInPage('the details of the clicked Trigger', () =>
      page()
        .$eval('#details', (d) => (d.querySelector('table.conditions') ? d.textContent : undefined))
        .catch(() => undefined),
    );
    const rows = await page().$$eval('#details table.conditions tr', (trs) =>
      trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows).toContainEqual(expect.arrayContaining(['Ready', 'True']));
    expect(await page().$eval('#details h2', (h) => h.textContent)).toBe(
      'Trigger default/orders-to-processor',
    );
    // Its recent events: created from the file, then updated by the edit above.
    const events = await page().$$eval('#details table.events td', (tds) =>
      tds.map((td) => td.textContent).join(' '),
    );
    expect(events).toMatch(/Updated/);
    expect(await page().$eval(nodeSelector(ORDERS), (g) => g.getAttribute('class'))).toContain('selected');
    await run.shot('4-details');
    expect(run.pageErrors).toEqual([]);
  });
});

/**
 * `eddy dev --kafka` (the broker, serving and the sources as processes) on the shared Kafka, in a
 * namespace of its own: the same page shows the topology, lags, replicas and the stream, and the rates
 * the ingress and dispatcher processes report in their contract-feed status.
 */
describe.skipIf(!CHROMIUM || !process.env.KAFKA_BROKERS)('the dashboard with eddy dev --kafka', () => {
  const ns = `dash-${Date.now().toString(36)}`;
  const run = new DashboardRun(CHROMIUM ?? '', ns);
  const page = () => run.page;
  beforeAll(() =>
    run.start(['--kafka', process.env.KAFKA_BROKERS ?? '', '--ingresses', '1', '--dispatchers', '1']),
  );
  afterAll(() => run.stop());

  it('draws the quickstart with lags and replicas, streams events, and moves the rates the processes report', async () => {
    const nodes = quickstartNodes(ns);
    await run.waitAllReady(nodes, 120_000);
    for (const trigger of nodes.filter((id) => id.startsWith('Trigger/')))
      await run.waitInPage(`the lag of ${trigger}`, () =>
        page().$eval(nodeSelector(trigger), (g) => (g as unknown as PageElement).dataset.lag ?? undefined),
      );
    expect(
      await page().$eval(nodeSelector(`Revision/${ns}/event-display-00001`), (g) => g.textContent),
    ).toMatch(/replicas 1\/1/);
    // Every rate is measured in this mode too: no note says something is not.
    expect(await page().$eval('#notes', (e) => e.textContent)).toBe('');
    const edge = edgeSelector(`Broker/${ns}/default`, `Trigger/${ns}/everything-to-display`, 'route');
    const before = await run.edgeRate(edge);
    expect(before).toBeGreaterThanOrEqual(0);
    await run.waitTailing();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await run.sendEvent('dev.eddy.dashboard.kafka'));
    await run.waitInStream(ids);
    // 30 events in the 10 s window, read by the dispatcher process (reported every 2 s at most): at
    // least 1/s more on the broker -> trigger edge, and on the broker node (the ingress process's count).
    const after = await run.waitInPage('the rate reported by the dispatcher process to rise', async () => {
      const rate = await run.edgeRate(edge);
      return rate >= before + 1 ? rate : undefined;
    });
    expect(after).toBeGreaterThanOrEqual(before + 1);
    expect(await page().$eval(edge, (g) => g.getAttribute('class'))).toContain('flowing');
    expect(
      await page().$eval(nodeSelector(`Broker/${ns}/default`), (g) =>
        Number((g as unknown as PageElement).dataset.rate ?? 'NaN'),
      ),
    ).toBeGreaterThan(0);
    // The `eddy sources` process reports its deliveries too: the PingSource's once-a-minute ping shows
    // as its rate for the window after it.
    await run.waitInPage(
      'the PingSource rate reported by the sources process',
      () =>
        page().$eval(nodeSelector(`PingSource/${ns}/heartbeat`), (g) => {
          const rate = Number((g as unknown as PageElement).dataset.rate ?? 'NaN');
          return rate > 0 ? rate : undefined;
        }),
      75_000,
    );
    await run.shot('5-kafka');
    expect(run.pageErrors).toEqual([]);
  }, 240_000);
});
