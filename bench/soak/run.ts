// bench/soak: Eddy under a steady load for a long time, to see memory, descriptors and event-loop
// delay stay flat after warm-up and no acknowledged event go missing. See soak.ts for the setup,
// report.ts for the verdict. Not a test (test/soak/soak.test.ts runs a short one in CI).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { publishResults } from '../eventlog/measure.ts';
import { progress } from '../progress.ts';
import { failures, panels, renderMarkdown } from './report.ts';
import { runSoak, type SoakMode, type SoakResult } from './soak.ts';
import { renderChart } from './svg.ts';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '2000' },
    'warmup-minutes': { type: 'string' },
    out: { type: 'string' },
    'kafka-dev-args': { type: 'string' },
    check: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: node bench/soak/run.ts [options]
  --mode embedded|kafka|both   which event logs, one after the other (both); Kafka: KAFKA_BROKERS, else the test harness starts one
  --minutes N                  load duration per mode (30)
  --rate N                     target events/s (2000)
  --warmup-minutes N           excluded from the verdict (default: a third of --minutes, i.e. 10 for 30)
  --kafka-dev-args="ARGS"     more \`eddy dev\` arguments in Kafka mode, e.g. "--ingresses 1 --dispatchers 1" (default: none)
  --out DIR                    samples, eddy dev logs, received ids, charts (default: a new temp dir)
  --check                      exit 1 on a lost event or an Eddy process whose memory grew >= 5% after warm-up
  --no-write                   do not append to bench/RESULTS.md nor replace bench/soak/soak-<mode>.svg`);
  process.exit(0);
}
const number = (
  name: 'minutes' | 'rate' | 'warmup-minutes',
  value: string | undefined,
  min: number,
): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number >= ${min}, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
};
const minutes = number('minutes', args.minutes, 0.5);
const rate = number('rate', args.rate, 1);
const warmupMinutes = number('warmup-minutes', args['warmup-minutes'] ?? String(minutes / 3), 0);
if (warmupMinutes >= minutes) {
  console.error(`--warmup-minutes (${warmupMinutes}) must be less than --minutes (${minutes})`);
  process.exit(2);
}
const modes: SoakMode[] =
  args.mode === 'both'
    ? ['embedded', 'kafka']
    : args.mode === 'embedded' || args.mode === 'kafka'
      ? [args.mode]
      : [];
if (modes.length === 0) {
  console.error(`--mode must be embedded, kafka or both, got ${JSON.stringify(args.mode)}`);
  process.exit(2);
}
const outDir = args.out ? path.resolve(args.out) : mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-soak-'));
mkdirSync(outDir, { recursive: true });

let cluster: KafkaCluster | undefined;
const results: SoakResult[] = [];
const svgPaths: Record<string, string> = {};
const problems: string[] = [];
try {
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
  let kafka = '';
  if (modes.includes('kafka')) {
    if (brokers.length === 0) {
      progress('starting a single-node Kafka (set KAFKA_BROKERS to use an existing one)');
      cluster = await startKafka({ fastStartJvm: false, log: (l) => progress(`kafka: ${l}`) });
      brokers = cluster.brokers;
    }
    kafka = cluster ? `, Kafka ${cluster.version} (1 node, test harness)` : `, Kafka at ${brokers.join(',')}`;
  }
  for (const mode of modes) {
    try {
      const result = await runSoak({
        mode,
        brokers,
        ...(mode === 'kafka' && args['kafka-dev-args']
          ? { devArgs: args['kafka-dev-args'].split(/\s+/).filter(Boolean) }
          : {}),
        seconds: minutes * 60,
        rate,
        warmupSeconds: warmupMinutes * 60,
        outDir,
        log: progress,
      });
      results.push(result);
      writeFileSync(path.join(outDir, `samples-${mode}.json`), JSON.stringify(result));
      const title = `eddy dev soak, ${mode}: ${rate}/s target, ${Math.round(result.achievedRate)}/s acknowledged, ${minutes} min (${warmupMinutes} warm-up)`;
      const end = Math.max(result.seconds, ...result.samples.map((s) => s.t));
      const svg = renderChart(title, panels(result), end, result.warmupSeconds);
      writeFileSync(path.join(outDir, `soak-${mode}.svg`), svg);
      if (!args['no-write']) {
        writeFileSync(path.join(import.meta.dirname, `soak-${mode}.svg`), svg);
        svgPaths[mode] = `soak/soak-${mode}.svg`;
      }
      progress(`${mode}: chart ${path.join(outDir, `soak-${mode}.svg`)}`);
      problems.push(...failures(result));
    } catch (error) {
      problems.push(`${mode}: not measured: ${(error as Error).message}`);
      progress(`FAILED ${mode}: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
  const machine = `${os.cpus().length} cores (shared with other work: load average ${os.loadavg()[0]?.toFixed(1)} at the end), Node ${process.version}${kafka}`;
  const command = `node bench/soak/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  if (results.length) publishResults(renderMarkdown(results, command, machine, svgPaths), !args['no-write']);
  progress(`samples, logs and charts in ${outDir}`);
} finally {
  await cluster?.stop();
}
for (const p of problems) progress(`problem: ${p}`);
if (problems.length && args.check) process.exitCode = 1;
