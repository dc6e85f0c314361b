// A small SVG line-chart writer for the soak's samples: stacked panels sharing the time axis, one
// polyline per series, y from 0 to a rounded maximum, a dashed line where warm-up ends, a legend on
// the right. No browser or chart library: the file is diffable text committed beside RESULTS.md.

export interface Series {
  name: string;
  /** [seconds, value]; NaN values break the line. */
  points: [number, number][];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
const WIDTH = 960;
const PANEL_HEIGHT = 190;
const LEFT = 70;
const PLOT_WIDTH = 640;
const TOP = 40;
const GAP = 50;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  v >= 100 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(3)).toString();

/** A round step (1, 2 or 5 x 10^n) giving about four ticks up to `max`. */
function niceStep(max: number): number {
  if (!(max > 0)) return 1;
  const raw = max / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
}

export function renderChart(
  title: string,
  panels: Panel[],
  endSeconds: number,
  warmupSeconds: number,
): string {
  const height = TOP + panels.length * (PANEL_HEIGHT + GAP);
  const x = (t: number) => LEFT + (t / Math.max(endSeconds, 1)) * PLOT_WIDTH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  const minuteStep = Math.max(1, Math.ceil(endSeconds / 60 / 10));
  panels.forEach((panel, i) => {
    const top = TOP + i * (PANEL_HEIGHT + GAP) + 20;
    const values = panel.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
    const step = niceStep(Math.max(0, ...values));
    const yMax = Math.max(step, Math.ceil(Math.max(0, ...values) / step) * step);
    const y = (v: number) => top + PANEL_HEIGHT - (v / yMax) * PANEL_HEIGHT;
    out.push(
      `<text x="${LEFT}" y="${top - 8}" font-size="12" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`,
    );
    for (let v = 0; v <= yMax + step / 2; v += step) {
      out.push(
        `<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
      );
    }
    for (let m = 0; m * 60 <= endSeconds; m += minuteStep) {
      out.push(
        `<line x1="${x(m * 60).toFixed(1)}" x2="${x(m * 60).toFixed(1)}" y1="${top + PANEL_HEIGHT}" y2="${top + PANEL_HEIGHT + 4}" stroke="black"/>`,
        `<text x="${x(m * 60).toFixed(1)}" y="${top + PANEL_HEIGHT + 16}" text-anchor="middle">${m} min</text>`,
      );
    }
    out.push(
      `<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${top + PANEL_HEIGHT}" y2="${top + PANEL_HEIGHT}" stroke="black"/>`,
      `<line x1="${LEFT}" x2="${LEFT}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="black"/>`,
    );
    if (warmupSeconds > 0 && warmupSeconds < endSeconds)
      out.push(
        `<line x1="${x(warmupSeconds).toFixed(1)}" x2="${x(warmupSeconds).toFixed(1)}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#999" stroke-dasharray="4 3"/>`,
        `<text x="${(x(warmupSeconds) + 3).toFixed(1)}" y="${top + 10}" fill="#777">end of warm-up</text>`,
      );
    panel.series.forEach((s, k) => {
      const color = COLORS[k % COLORS.length] as string;
      // NaN splits the series into runs, each its own polyline.
      const runs: string[][] = [[]];
      for (const [t, v] of s.points) {
        if (Number.isFinite(v)) runs[runs.length - 1]?.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
        else if (runs[runs.length - 1]?.length) runs.push([]);
      }
      for (const run of runs)
        if (run.length)
          out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${run.join(' ')}"/>`);
      const ly = top + 4 + k * 15;
      out.push(
        `<line x1="${LEFT + PLOT_WIDTH + 14}" x2="${LEFT + PLOT_WIDTH + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${LEFT + PLOT_WIDTH + 38}" y="${ly + 4}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
