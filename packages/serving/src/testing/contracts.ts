// Serving contracts for tests that run real replicas (the plane's own, and the serving process's in
// test/serving): revisions of one Service `svc` running a one-line Node HTTP server, with a 6 s
// autoscaler window, a 500 ms scale-to-zero grace and zero initial scale allowed. Test-only.

import type { ServingContract, ServingRevision } from '@eddy/api';
import { scalingSettings } from '../control/scaling-settings.js';
import { tcpReadiness } from './processes.js';

/** A workload in one line: answers its revision name on every path, exits on SIGTERM. */
export const REVISION_NAME_SERVER = `require('node:http').createServer((q, s) => s.end(process.env.K_REVISION)).listen(+process.env.PORT, '127.0.0.1'); process.on('SIGTERM', () => process.exit(0));`;

export function testRevision(
  namespace: string,
  name: string,
  options: { script?: string; annotations?: Record<string, string>; extra?: Partial<ServingRevision> } = {},
): ServingRevision {
  return {
    namespace,
    name,
    configuration: 'svc',
    service: 'svc',
    configurationGeneration: 1,
    command: [process.execPath],
    args: ['-e', options.script ?? REVISION_NAME_SERVER],
    env: {},
    readiness: tcpReadiness,
    containerConcurrency: 0,
    timeoutMs: 30_000,
    terminationGraceMs: 2_000,
    scaling: scalingSettings({ 'autoscaling.knative.dev/window': '6s', ...options.annotations }, 0, {
      scaleToZeroGraceMs: 500,
      allowZeroInitialScale: true,
    }),
    routed: true,
    backlog: [],
    ...options.extra,
  };
}

/** The revisions behind the route `<namespace>/svc`: the first routed one takes 100 %. */
export function testContract(
  namespace: string,
  generation: number,
  revisions: ServingRevision[],
): ServingContract {
  return {
    generation,
    revisions,
    routes: [
      {
        namespace,
        name: 'svc',
        traffic: revisions
          .filter((r) => r.routed)
          .map((r, i) => ({ revisionName: r.name, percent: i === 0 ? 100 : 0, latestRevision: false })),
      },
    ],
  };
}
