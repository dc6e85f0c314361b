// Regenerates charts/eddy/crds/ from `eddy crds` (pnpm run chart:crds; run after changing a schema).
// Helm installs what is in a chart's crds/ before the templates and never edits or deletes it, so the
// files must be exactly what `eddy crds` prints: one file per CRD, named after it, each one document
// of that output as printed. test/kubernetes/chart.test.ts fails when they drift from the schemas.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHART_CRDS_DIR = fileURLToPath(new URL('../charts/eddy/crds/', import.meta.url));

/**
 * `eddy crds`' output split into the chart's files: `<plural>.<group>.yaml` (the CRD's own name) ->
 * its document, `---` line included, so the files concatenated in eddy's order are the output again.
 */
export function chartCrdFiles(crdsYaml: string): Map<string, string> {
  const files = new Map<string, string>();
  const text = crdsYaml.endsWith('\n') ? crdsYaml : `${crdsYaml}\n`;
  for (const doc of text.split(/^(?=---\n)/m)) {
    if (doc.trim() === '') continue;
    const name = /^metadata:\n {2}name: ([a-z0-9.-]+)$/m.exec(doc)?.[1];
    if (!name) throw new Error(`eddy crds printed a document without metadata.name:\n${doc.slice(0, 200)}`);
    if (files.has(`${name}.yaml`)) throw new Error(`eddy crds printed ${name} twice`);
    files.set(`${name}.yaml`, doc);
  }
  if (files.size === 0) throw new Error('eddy crds printed no CRD');
  return files;
}

function main(): void {
  const repo = resolve(CHART_CRDS_DIR, '../../..');
  const printed = execFileSync(process.execPath, [join(repo, 'packages/cli/dist/main.js'), 'crds'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = chartCrdFiles(printed);
  mkdirSync(CHART_CRDS_DIR, { recursive: true });
  // A CRD that Eddy no longer has must not stay behind in the chart.
  for (const old of readdirSync(CHART_CRDS_DIR)) {
    if (old.endsWith('.yaml') && !files.has(old)) rmSync(join(CHART_CRDS_DIR, old));
  }
  for (const [file, doc] of files) writeFileSync(join(CHART_CRDS_DIR, file), doc);
  console.log(`chart-crds: wrote ${files.size} CRDs to ${CHART_CRDS_DIR}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
