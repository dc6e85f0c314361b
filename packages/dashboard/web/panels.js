// The side panels: a node's details (what `eddy describe` shows, from /v1/describe) and the live
// event stream (what `eddy tail` shows, from /v1/tail).

import { ApiError, describe, tail } from './api.js';
import { formatRate } from './graph.js';

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

function table(headers, rows, className) {
  const t = h('table', { class: className });
  t.append(h('tr', {}, ...headers.map((x) => h('th', {}, x))));
  for (const row of rows) t.append(h('tr', {}, ...row.map((x) => h('td', {}, x ?? ''))));
  return t;
}

/** Live numbers of a node, as the topology has them. */
function numbers(node) {
  const out = [];
  if (node.rate !== undefined) out.push(`rate in: ${formatRate(node.rate)}`);
  if (node.filter) out.push(`filter: ${node.filter}`);
  if (node.lag !== undefined) out.push(`lag: ${node.lag}`);
  if (node.replicas)
    out.push(
      `replicas: ${node.replicas.actual} actual, ${node.replicas.desired} desired, ${node.replicas.ready} ready`,
    );
  if (node.decision)
    out.push(
      `last decision: ${node.decision.desired} (${node.decision.reason}) ${node.decision.detail} at ${node.decision.at}`,
    );
  return out;
}

export async function showDetails(section, node) {
  section.replaceChildren(
    h('h2', {}, `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.name}`),
  );
  section.dataset.id = node.id;
  for (const line of numbers(node)) section.append(h('p', { class: 'number' }, line));
  if (node.kind === 'URL') return;
  let described;
  try {
    described = await describe(node);
  } catch (error) {
    if (section.dataset.id === node.id) section.append(h('p', { class: 'error' }, error.message));
    return;
  }
  if (section.dataset.id !== node.id) return;
  const conditions = described.resource.status?.conditions ?? [];
  section.append(h('h3', {}, 'Conditions'));
  section.append(
    conditions.length === 0
      ? h('p', { class: 'hint' }, 'none')
      : table(
          ['Type', 'Status', 'Reason', 'Message'],
          conditions.map((c) => [c.type, c.status, c.reason, c.message]),
          'conditions',
        ),
  );
  section.append(h('h3', {}, 'Recent events'));
  const events = described.events ?? [];
  section.append(
    events.length === 0
      ? h('p', { class: 'hint' }, 'none')
      : table(
          ['Time', 'Type', 'Reason', 'Message'],
          events
            .slice(-20)
            .reverse()
            .map((e) => [e.time, e.type, e.reason, e.message]),
          'events',
        ),
  );
  if (described.decisions?.length) {
    section.append(h('h3', {}, 'Autoscaler decisions'));
    section.append(
      table(
        ['Time', 'Revision', 'Desired', 'Reason', 'Detail'],
        described.decisions
          .slice(-10)
          .reverse()
          .map((d) => [d.at, d.revision, String(d.desired), d.reason, d.detail]),
        'decisions',
      ),
    );
  }
}

const MAX_EVENTS = 200;
const RETRY_MS = 2000;

/** The event stream panel: a broker picker, a CESQL filter, and the events as they arrive. */
export class EventStream {
  #form;
  #broker;
  #filter;
  #status;
  #list;
  #abort;

  constructor(document) {
    this.#form = document.getElementById('tail-form');
    this.#broker = document.getElementById('tail-broker');
    this.#filter = document.getElementById('tail-filter');
    this.#status = document.getElementById('tail-status');
    this.#list = document.getElementById('tail-events');
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.start();
    });
  }

  /** Offers the topology's brokers; starts tailing the first one the first time there is one. */
  setBrokers(nodes) {
    const ids = nodes.filter((n) => n.kind === 'Broker').map((n) => `${n.namespace}/${n.name}`);
    const current = [...this.#broker.options].map((o) => o.value);
    if (JSON.stringify(ids) === JSON.stringify(current)) return;
    const selected = this.#broker.value;
    this.#broker.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
    if (ids.includes(selected)) this.#broker.value = selected;
    if (!this.#abort && ids.length > 0) this.start();
  }

  start() {
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    const [namespace, broker] = this.#broker.value.split('/');
    if (!broker) return;
    const filter = this.#filter.value.trim();
    // A new broker or filter starts a new list: what is shown always matches what is asked.
    this.#list.replaceChildren();
    this.#status.className = 'tail-status';
    this.#status.textContent = `connecting to ${namespace}/${broker}…`;
    tail(
      { namespace, broker, filter },
      {
        onLive: (name) => {
          this.#status.textContent = `tailing ${name}${filter ? ` where ${filter}` : ''}`;
        },
        onEvent: (event) => this.#add(event),
      },
      abort.signal,
    ).then(
      () => {
        if (this.#abort === abort) this.#status.textContent = 'stream ended';
      },
      (error) => {
        if (abort.signal.aborted) return;
        this.#status.className = 'tail-status error';
        // A broker not ready yet (409), a log not answering (503) or eddy dev restarting (no status)
        // passes: try again. A bad filter (400) or an unknown broker (404) waits for the user.
        const passing = !(error instanceof ApiError) || error.status === 409 || error.status >= 500;
        this.#status.textContent = passing ? `${error.message} (retrying)` : error.message;
        if (passing)
          setTimeout(() => {
            if (this.#abort === abort) this.start();
          }, RETRY_MS);
      },
    );
  }

  #add(event) {
    const data = event.data === undefined ? '' : JSON.stringify(event.data);
    const item = h(
      'li',
      { class: 'event', 'data-id': event.id ?? '', 'data-type': event.type ?? '' },
      h('span', { class: 'time' }, (event.time ?? new Date().toISOString()).replace('T', ' ').slice(0, 23)),
      h('span', { class: 'type' }, event.type ?? ''),
      h('span', { class: 'source' }, event.source ?? ''),
      h('span', { class: 'id' }, event.id ?? ''),
      h('code', { class: 'data' }, data.length > 200 ? `${data.slice(0, 199)}…` : data),
    );
    this.#list.prepend(item);
    while (this.#list.children.length > MAX_EVENTS) this.#list.lastElementChild?.remove();
  }
}
