// `eddy dev`'s source runner, in this process or as `eddy sources` processes (sources-process.ts):
// the registry (built-ins, `--source-adapter` packages, ContainerSources printing like services) and
// the runner the reconcile loop drives, whichever way the adapters run.

import { namespacedKey, type ValueStore } from '@eddy/api';
import type { SenderTokens, ServingCertificate } from '@eddy/runtime';
import type { ReplicaOutputLine } from '@eddy/serving';
import {
  type ContainerOutputLine,
  createSourceRegistry,
  createSourceRunner,
  loadAdapterPackages,
  type SourceRegistry,
  type SourceRunner,
  withContainerOutput,
} from '@eddy/sources';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { RemoteSourceRunner } from './sources-process.js';

export interface DevSourcesOptions {
  /** A registry of the caller's; default the built-ins (then ContainerSources print to serviceOutput). */
  sources?: SourceRegistry;
  /** Third-party adapter packages loaded into the registry (and into the sources process). */
  sourceAdapters?: readonly string[];
  /** The kubeconfig for ApiServerSources (`eddy dev --kubeconfig`), passed to the sources process too. */
  kubeconfig?: string;
  /** Webhook sources (GitHubSource) serve HTTPS with it, in this process. */
  tls?: ServingCertificate;
  /** ... and with these files in `eddy sources` processes. */
  tlsFiles?: { cert: string; key: string };
  /**
   * Run the adapters in `eddy sources` processes (needs Kafka: eddy dev then runs processes): `members`
   * of them (default 1), each started with `extraArgs` too; `external`: started by someone else
   * (`eddy controller --external-sources`), only followed through the feed.
   */
  asProcess?: { members?: number; extraArgs?: string[]; external?: boolean };
  serviceOutput?(line: ReplicaOutputLine): void;
  /** Secret and ConfigMap values; `env` wins for secrets (EDDY_SECRET_*). */
  values: ValueStore;
  env?: Readonly<Record<string, string | undefined>>;
  metrics: Registry;
  logger: pino.Logger;
  print(line: string): void;
  host: string;
  /** Eddy's sender tokens for sources whose sink has an OIDC audience (in-process runner). */
  tokens?: Pick<SenderTokens, 'authorization'>;
}

export interface DevSources {
  registry: SourceRegistry;
  runner: SourceRunner;
  /** The `eddy sources` processes, when the adapters run in them (start() once its feed is served). */
  process: RemoteSourceRunner | undefined;
}

export async function createDevSources(o: DevSourcesOptions): Promise<DevSources> {
  if (o.asProcess && o.sources)
    throw new Error(
      'the sources process runs the built-in adapters and sourceAdapters, not a sources registry',
    );
  const registry = o.sources ?? createSourceRegistry();
  const serviceOutput = o.serviceOutput;
  // ContainerSources print like services do: `<name> | <line>`.
  const containerOutput =
    serviceOutput &&
    (({ namespace, name, stream, line }: ContainerOutputLine) =>
      serviceOutput({ namespace, revision: name, replica: namespacedKey(namespace, name), stream, line }));
  if (containerOutput && !o.sources) withContainerOutput(registry, containerOutput);
  await loadAdapterPackages(registry, o.sourceAdapters ?? [], (specifier, loaded) =>
    o.print(`source adapter ${specifier}: ${loaded.map((a) => a.kind).join(', ')}`),
  );
  const env = o.env ? { env: o.env } : {};
  if (o.asProcess) {
    const process = new RemoteSourceRunner({
      adapters: registry,
      sourceAdapters: o.sourceAdapters ?? [],
      values: () => ({ ...env, store: o.values }),
      host: o.host,
      logger: o.logger,
      print: o.print,
      ...(o.asProcess.members !== undefined ? { members: o.asProcess.members } : {}),
      ...(o.asProcess.external ? { external: true } : {}),
      ...(o.asProcess.extraArgs || o.kubeconfig || o.tlsFiles
        ? {
            extraArgs: [
              ...(o.asProcess.extraArgs ?? []),
              ...(o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : []),
              ...(o.tlsFiles ? ['--tls-cert', o.tlsFiles.cert, '--tls-key', o.tlsFiles.key] : []),
            ],
          }
        : {}),
      ...(containerOutput ? { onContainerOutput: containerOutput } : {}),
    });
    return { registry, runner: process, process };
  }
  const runner = createSourceRunner({
    adapters: registry,
    registry: o.metrics,
    logger: o.logger,
    values: o.values,
    ...env,
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.tokens ? { tokens: o.tokens } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
  });
  return { registry, runner, process: undefined };
}
