// The dashboard page: logs in if needed, then follows the topology stream into the graph and wires
// the details and event-stream panels.

import { ApiError, getJson, login, watchTopology } from './api.js';
import { Graph } from './graph.js';
import { EventStream, showDetails } from './panels.js';

const $ = (id) => document.getElementById(id);

async function main() {
  try {
    await getJson('/v1/status');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    throw error;
  }
  // The login link's code is spent: keep it out of the history and of reloads.
  if (location.search) history.replaceState(null, '', location.pathname);
  $('main').hidden = false;
  let topology = { nodes: [], edges: [] };
  let selected;
  const stream = new EventStream(document);
  const select = (id) => {
    selected = id;
    graph.select(id);
    const node = topology.nodes.find((n) => n.id === id);
    if (node) void showDetails($('details'), node);
  };
  const graph = new Graph($('graph'), select);
  watchTopology(
    (next) => {
      topology = next;
      void graph.render(next).then(() => {
        document.body.dataset.renderedAt = next.at;
      });
      stream.setBrokers(next.nodes);
      const notReady = next.nodes.filter((n) => n.ready && n.ready !== 'True').length;
      $('summary').textContent =
        `${next.nodes.length} resources, ${notReady} not ready · rates over ${next.windowSeconds} s · ${new Date(next.at).toLocaleTimeString()}`;
      $('notes').textContent = (next.notes ?? []).join(' · ');
      // The open details follow the live numbers; conditions reload on the next click.
      if (selected && !next.nodes.some((n) => n.id === selected)) selected = undefined;
    },
    (state) => {
      $('connection').textContent = state;
      $('connection').dataset.state = state;
    },
  );
}

function showLogin() {
  const form = $('login');
  form.hidden = false;
  if (new URLSearchParams(location.search).get('login') === 'expired')
    $('login-message').textContent =
      'That login link was already used or has expired. Paste the token from <data-dir>/admin.json, or restart the link from eddy dev.';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await login($('login-token').value.trim());
      location.replace(location.pathname);
    } catch (error) {
      $('login-error').textContent = error.message;
    }
  });
}

main().catch((error) => {
  document.body.append(
    Object.assign(document.createElement('p'), { className: 'error', textContent: error.message }),
  );
});
