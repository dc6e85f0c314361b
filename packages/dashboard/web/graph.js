// Lays the topology out with elkjs (layered, left to right) and draws it as SVG. A new layout runs
// only when the set of nodes or edges changed; otherwise the numbers are updated in place, so the
// picture does not jump every second.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 230;
const LINE = 16;
/** Detail lines each role shows below kind and name (a fixed count keeps heights stable). */
const DETAIL_LINES = { source: 1, mesh: 1, route: 2, service: 0, revision: 2, flow: 0, other: 0 };
/** ELK layer constraints keep sources left and revisions right whatever the edges say. */
const LAYER = { source: 'FIRST', revision: 'LAST' };

const elk = new globalThis.ELK();

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function heightOf(node) {
  return 14 + LINE * (2 + (DETAIL_LINES[node.role] ?? 0));
}

export function formatRate(rate) {
  return rate === undefined ? '' : `${rate.toFixed(2)}/s`;
}

function shorten(text, max = 34) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The detail lines of a node, by role. */
function details(node) {
  switch (node.role) {
    case 'source':
    case 'mesh':
      return [node.rate === undefined ? '' : `in ${formatRate(node.rate)}`];
    case 'route':
      return [
        node.filter ? `filter: ${node.filter}` : 'no filter (every event)',
        node.lag === undefined ? 'lag ?' : `lag ${node.lag}`,
      ];
    case 'revision': {
      const r = node.replicas;
      const d = node.decision;
      return [
        r ? `replicas ${r.actual}/${r.desired} (ready ${r.ready})` : 'replicas ?',
        d ? `scaler: ${d.desired} (${d.reason})` : 'scaler: no decision yet',
      ];
    }
    default:
      return [];
  }
}

function readyClass(node) {
  return node.ready === undefined ? 'ready-none' : `ready-${node.ready}`;
}

export class Graph {
  #svg;
  #onSelect;
  #structure = '';
  #laying = Promise.resolve();
  #nodes = new Map();
  #edges = new Map();
  #selected;

  constructor(svg, onSelect) {
    this.#svg = svg;
    this.#onSelect = onSelect;
  }

  /** Draws `topology`: a new layout when its shape changed, else the numbers and colours only. */
  render(topology) {
    const structure = JSON.stringify([
      topology.nodes.map((n) => [n.id, n.role]),
      topology.edges.map((e) => e.id),
    ]);
    if (structure !== this.#structure) {
      this.#structure = structure;
      this.#laying = this.#laying.then(() => this.#layout(topology)).catch((e) => console.error(e));
    } else this.#laying = this.#laying.then(() => this.#update(topology));
    return this.#laying;
  }

  select(id) {
    this.#selected = id;
    for (const [nodeId, g] of this.#nodes) g.classList.toggle('selected', nodeId === id);
  }

  async #layout(topology) {
    const graph = {
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'RIGHT',
        'elk.edgeRouting': 'ORTHOGONAL',
        'elk.layered.spacing.nodeNodeBetweenLayers': '90',
        'elk.spacing.nodeNode': '28',
        'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      },
      children: topology.nodes.map((n) => ({
        id: n.id,
        width: WIDTH,
        height: heightOf(n),
        ...(LAYER[n.role]
          ? { layoutOptions: { 'elk.layered.layering.layerConstraint': LAYER[n.role] } }
          : {}),
      })),
      edges: topology.edges.map((e) => ({ id: e.id, sources: [e.from], targets: [e.to] })),
    };
    const laid = await elk.layout(graph);
    const svg = this.#svg;
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${Math.max(laid.width, 400) + 20} ${Math.max(laid.height, 200) + 20}`);
    svg.setAttribute('width', String(Math.max(laid.width, 400) + 20));
    svg.setAttribute('height', String(Math.max(laid.height, 200) + 20));
    const defs = el('defs');
    const marker = el('marker', {
      id: 'arrow',
      viewBox: '0 0 10 10',
      refX: 10,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    });
    marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
    defs.append(marker);
    const edgesLayer = el('g', { class: 'edges', transform: 'translate(10,10)' });
    const nodesLayer = el('g', { class: 'nodes', transform: 'translate(10,10)' });
    svg.append(defs, edgesLayer, nodesLayer);
    this.#nodes.clear();
    this.#edges.clear();

    const byId = new Map(topology.edges.map((e) => [e.id, e]));
    for (const laidEdge of laid.edges ?? []) {
      const edge = byId.get(laidEdge.id);
      if (!edge) continue;
      const points = (laidEdge.sections ?? []).flatMap((s) => [
        s.startPoint,
        ...(s.bendPoints ?? []),
        s.endPoint,
      ]);
      if (points.length < 2) continue;
      const g = el('g', {
        class: `edge edge-${edge.kind}`,
        'data-id': edge.id,
        'data-from': edge.from,
        'data-to': edge.to,
        'data-kind': edge.kind,
      });
      g.append(
        el('path', {
          d: points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x} ${p.y}`).join(' '),
          'marker-end': 'url(#arrow)',
        }),
      );
      // The label sits on the longest segment, where it is least likely to cover another edge.
      let best = 0;
      for (let i = 1; i < points.length - 1; i++) if (segment(points, i) > segment(points, best)) best = i;
      const a = points[best];
      const b = points[best + 1];
      const label = el('text', {
        class: 'edge-label',
        x: (a.x + b.x) / 2,
        y: (a.y + b.y) / 2 - 4,
        'text-anchor': 'middle',
      });
      g.append(label);
      edgesLayer.append(g);
      this.#edges.set(edge.id, g);
    }
    for (const laidNode of laid.children ?? []) {
      const g = el('g', {
        class: 'node',
        'data-id': laidNode.id,
        transform: `translate(${laidNode.x},${laidNode.y})`,
        tabindex: 0,
      });
      g.append(el('rect', { width: laidNode.width, height: laidNode.height, rx: 6 }));
      g.addEventListener('click', () => this.#onSelect(laidNode.id));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') this.#onSelect(laidNode.id);
      });
      nodesLayer.append(g);
      this.#nodes.set(laidNode.id, g);
    }
    this.#update(topology);
    if (this.#selected) this.select(this.#selected);
  }

  #update(topology) {
    for (const node of topology.nodes) {
      const g = this.#nodes.get(node.id);
      if (!g) continue;
      g.setAttribute(
        'class',
        `node role-${node.role} ${readyClass(node)}${node.id === this.#selected ? ' selected' : ''}`,
      );
      g.dataset.kind = node.kind;
      g.dataset.name = node.name;
      g.dataset.ready = node.ready ?? '';
      if (node.filter !== undefined) g.dataset.filter = node.filter;
      else delete g.dataset.filter;
      if (node.lag !== undefined) g.dataset.lag = String(node.lag);
      if (node.rate !== undefined) g.dataset.rate = String(node.rate);
      const rect = g.querySelector('rect');
      for (const old of g.querySelectorAll('text, title')) old.remove();
      const title = [
        `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.name}`,
        `Ready: ${node.ready ?? 'n/a'}`,
      ];
      if (node.reason) title.push(node.reason);
      if (node.filter) title.push(`filter: ${node.filter}`);
      g.append(el('title', {}, title.join('\n')));
      g.append(el('text', { class: 'kind', x: 10, y: 18 }, node.kind));
      g.append(el('text', { class: 'name', x: 10, y: 18 + LINE }, shorten(node.name, 28)));
      details(node).forEach((line, i) => {
        g.append(el('text', { class: 'detail', x: 10, y: 18 + LINE * (2 + i) }, shorten(line)));
      });
      g.append(rect);
      g.prepend(rect);
    }
    for (const edge of topology.edges) {
      const g = this.#edges.get(edge.id);
      if (!g) continue;
      const label = g.querySelector('text');
      const parts = [];
      if (edge.percent !== undefined) parts.push(`${edge.percent}%`);
      if (edge.rate !== undefined) parts.push(formatRate(edge.rate));
      label.textContent = parts.join(' · ');
      if (edge.rate !== undefined) g.dataset.rate = String(edge.rate);
      g.classList.toggle('flowing', (edge.rate ?? 0) > 0);
    }
  }
}

function segment(points, i) {
  const a = points[i];
  const b = points[i + 1];
  return Math.abs(a.x - b.x) + Math.abs(a.y - b.y);
}
