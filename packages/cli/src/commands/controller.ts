// `eddy controller`: Kubernetes mode's control plane (../controller/controller.ts), a process that runs
// until SIGINT/SIGTERM, or exits 1 when it loses the leader Lease (a restarted replica starts clean,
// as controller-runtime's managers do).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isKafkaClientName, KAFKA_CLIENTS, kafkaSecurityFromEnv } from '@eddy/broker';
import { loadKubeConfig, OIDC_ISSUER_ENV, OIDC_SIGNING_KEY_ENV, parseCertificates } from '@eddy/runtime';
import type { Command } from 'commander';
import pino from 'pino';
import type { Controller } from '../controller/controller.js';
import { INGRESS_AUTH_HELP, OIDC_ISSUER_HELP, senderAuthFromFlags } from '../dev/ingress-auth-flags.js';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import { collect } from '../verb.js';
import {
  BROKER_TTL_HELP,
  LOG_LEVELS,
  PROGRESS_DEADLINE_HELP,
  parseBrokers,
  parseBrokerTtl,
  parseLogLevel,
  parsePort,
  parseProgressDeadlineFlag,
} from './flags.js';

interface ControllerCommandOptions {
  kubeconfig?: string;
  kafka?: string;
  kafkaClient?: string;
  ingressUrl?: string;
  ingressCa?: string;
  routerUrl?: string;
  externalSources?: boolean;
  eventtypeAutoCreate?: boolean;
  ingressAuth?: string;
  oidcIssuer?: string[];
  brokerTtl?: string;
  progressDeadline?: string;
  oidcSigningKey?: string;
  oidcIssuerUrl?: string;
  host?: string;
  port?: string;
  namespace?: string;
  leaseNamespace?: string;
  leaseName?: string;
  id?: string;
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  logLevel?: string;
  /** commander's negation of --no-webhook. */
  webhook?: boolean;
  webhookHost?: string;
  webhookPort?: string;
  webhookCertDir?: string;
  webhookService?: string;
  webhookOwner?: string;
}

/** `--webhook-owner clusterrole/<name>`: the ClusterRole's name. */
function parseWebhookOwner(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const m = /^clusterrole\/([a-z0-9]([-a-z0-9.:]*[a-z0-9])?)$/.exec(text);
  if (!m?.[1]) throw new UsageError(`--webhook-owner must be clusterrole/<name>, got "${text}"`);
  return m[1];
}

/** `--webhook-service <namespace>/<name>[:port]`. */
function parseService(
  text: string | undefined,
): { namespace: string; name: string; port?: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^([a-z0-9-]+)\/([a-z0-9-]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`--webhook-service must be <namespace>/<name>[:port], got "${text}"`);
  return { namespace: m[1] as string, name: m[2] as string, ...(m[3] ? { port: Number(m[3]) } : {}) };
}

export const CONTRACT_TOKEN_ENV = 'EDDY_CONTRACT_TOKEN';

/** The signing key and issuer URL from the flags, else the EDDY_OIDC_* variables the chart sets. */
function oidcOptions(options: ControllerCommandOptions): {
  oidc?: { signingKeyFile: string; issuerUrl?: string };
} {
  const signingKeyFile = options.oidcSigningKey ?? process.env[OIDC_SIGNING_KEY_ENV];
  const issuerUrl = options.oidcIssuerUrl ?? process.env[OIDC_ISSUER_ENV];
  if (!signingKeyFile) {
    if (options.oidcIssuerUrl) throw new UsageError('--oidc-issuer-url needs --oidc-signing-key');
    return {};
  }
  return { oidc: { signingKeyFile: resolve(signingKeyFile), ...(issuerUrl ? { issuerUrl } : {}) } };
}

/** A duration flag in seconds (fractions allowed), as milliseconds. */
function parseSeconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0)
    throw new UsageError(`${flag} must be a number of seconds > 0, got "${text}"`);
  return Math.round(n * 1000);
}

/**
 * `--ingress-ca`: checked now (a located error), then re-read at every reconcile pass so a rotated CA
 * (a remounted Secret) is published without a restart; a file damaged later keeps the last good CA.
 */
function ingressCaFlag(file: string | undefined, ingressUrl: string): (() => string) | undefined {
  if (file === undefined) return undefined;
  if (!ingressUrl.startsWith('https:')) throw new UsageError('--ingress-ca needs an https --ingress-url');
  const read = () => {
    const pem = readFileSync(file, 'utf8');
    parseCertificates(pem, `--ingress-ca ${file}`);
    return pem;
  };
  let last: string;
  try {
    last = read();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `--ingress-ca ${file}: no such file` : (error as Error).message);
  }
  return () => {
    try {
      last = read();
    } catch {
      // Mid-rotation or briefly missing: the last good CA stays published.
    }
    return last;
  };
}

/** A base URL flag (`--ingress-url`, `--router-url`): http(s), without its trailing slashes. */
function parseBaseUrl(flag: string, text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`${flag} must be an http(s) URL, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

function parseIngressUrl(text: string | undefined): string {
  if (text === undefined)
    throw new UsageError(
      '--ingress-url is required: the base URL senders reach the broker ingress at (e.g. http://eddy-ingress.eddy-system.svc.cluster.local)',
    );
  return parseBaseUrl('--ingress-url', text);
}

export async function runController(options: ControllerCommandOptions, output: Output): Promise<number> {
  const kafka = parseBrokers(options.kafka);
  if (!kafka) throw new UsageError('--kafka <host:port,...> is required: Kubernetes mode runs on Kafka');
  if (options.kafkaClient !== undefined && !isKafkaClientName(options.kafkaClient))
    throw new UsageError(
      `--kafka-client must be ${KAFKA_CLIENTS.map((c) => `"${c}"`).join(' or ')}, got "${options.kafkaClient}"`,
    );
  const ingressUrl = parseIngressUrl(options.ingressUrl);
  const ingressCACerts = ingressCaFlag(options.ingressCa, ingressUrl);
  const routerUrl =
    options.routerUrl === undefined ? undefined : parseBaseUrl('--router-url', options.routerUrl);
  const senderAuth = senderAuthFromFlags(options);
  const port = parsePort(options.port, 8081);
  const level = parseLogLevel(options.logLevel, 'info');
  const brokerTtl = parseBrokerTtl(options.brokerTtl);
  const progressDeadlineMs = parseProgressDeadlineFlag(options.progressDeadline);
  const leaseDurationMs = parseSeconds('--lease-duration', options.leaseDuration);
  const renewDeadlineMs = parseSeconds('--renew-deadline', options.renewDeadline);
  const retryPeriodMs = parseSeconds('--retry-period', options.retryPeriod);
  if ((renewDeadlineMs ?? 10_000) >= (leaseDurationMs ?? 15_000))
    throw new UsageError(
      '--renew-deadline must be shorter than --lease-duration (a leader must give up before another may take over)',
    );
  const service = parseService(options.webhookService);
  const owner = parseWebhookOwner(options.webhookOwner);
  const webhookPort = parsePort(options.webhookPort, 8443, '--webhook-port');
  const kubeConfig = await loadKubeConfig(options.kubeconfig).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const logger = pino({ level, base: { pid: process.pid } }, pino.destination(2));
  const token = process.env[CONTRACT_TOKEN_ENV];
  let controller: Controller;
  let lost = false;
  let stop: (() => void) | undefined;
  try {
    const { startController } = await import('../controller/controller.js');
    controller = await startController({
      kubeConfig,
      ...(options.kubeconfig ? { kubeconfigPath: resolve(options.kubeconfig) } : {}),
      kafka,
      kafkaSecurity: kafkaSecurityFromEnv(process.env),
      ...(options.kafkaClient && isKafkaClientName(options.kafkaClient)
        ? { kafkaClient: options.kafkaClient }
        : {}),
      ingressUrl,
      ...(ingressCACerts ? { ingressCACerts } : {}),
      ...(routerUrl ? { routerUrl } : {}),
      ...(process.env.POD_NAME
        ? { ownPod: { name: process.env.POD_NAME, namespace: process.env.POD_NAMESPACE ?? 'default' } }
        : {}),
      ...(options.externalSources ? { externalSources: true } : {}),
      ...(options.eventtypeAutoCreate ? { eventTypeAutoCreate: true } : {}),
      ...(senderAuth ? { senderAuth } : {}),
      ...(brokerTtl !== undefined ? { brokerTtl } : {}),
      ...(progressDeadlineMs !== undefined ? { progressDeadlineMs } : {}),
      ...(options.host ? { host: options.host } : {}),
      port,
      ...(token ? { contractToken: token } : {}),
      ...oidcOptions(options),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      leaseNamespace: options.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'eddy-system',
      ...(options.leaseName ? { leaseName: options.leaseName } : {}),
      ...(options.id ? { identity: options.id } : {}),
      ...(leaseDurationMs !== undefined ? { leaseDurationMs } : {}),
      ...(renewDeadlineMs !== undefined ? { renewDeadlineMs } : {}),
      ...(retryPeriodMs !== undefined ? { retryPeriodMs } : {}),
      webhook:
        options.webhook === false
          ? false
          : {
              port: webhookPort,
              ...(options.webhookHost ? { host: options.webhookHost } : {}),
              ...(options.webhookCertDir ? { certDir: options.webhookCertDir } : {}),
              ...(service ? { service, dnsNames: [`${service.name}.${service.namespace}.svc`] } : {}),
              ...(owner ? { ownerClusterRole: owner } : {}),
            },
      logger,
      print: (line) => output.out(line),
      onLostLeadership: () => {
        lost = true;
        stop?.();
      },
    });
  } catch (error) {
    output.err(`eddy controller: ${(error as Error).message}`);
    return EXIT_PROBLEMS;
  }
  await new Promise<void>((done) => {
    let stopping = false;
    stop = () => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', stop as () => void);
      process.off('SIGTERM', stop as () => void);
      controller.close().then(done, (error: unknown) => {
        output.err(`eddy controller: shutdown failed: ${(error as Error).message}`);
        done();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  output.out(`eddy controller: stopped${lost ? ' (lost leadership)' : ''}`);
  setTimeout(() => process.exit(process.exitCode ?? (lost ? EXIT_PROBLEMS : EXIT_OK)), 3000).unref();
  return lost ? EXIT_PROBLEMS : EXIT_OK;
}

export function registerController(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('controller')
    .description(
      'Kubernetes mode: reconcile Eddy/Knative custom resources, write their status, and serve the data plane its contract',
    )
    .option(
      '--kubeconfig <file>',
      'cluster to run against (default $KUBECONFIG, ~/.kube/config, or in-cluster)',
    )
    .option('--kafka <brokers>', 'Kafka bootstrap servers (host:port,...) the data plane runs on')
    .option('--kafka-client <name>', `Kafka client library: ${KAFKA_CLIENTS.join(', ')}`)
    .option('--ingress-url <url>', "base URL of the broker ingress as senders reach it (Brokers' address)")
    .option(
      '--ingress-ca <file>',
      "with an https --ingress-url: the PEM CA of the ingress' certificate, published as the addresses' CACerts (re-read when it changes)",
    )
    .option(
      '--external-sources',
      'run no source adapter here: `eddy sources --contract <this>/v1/contract/sources --member-id sources-1` runs them',
    )
    .option(
      '--router-url <url>',
      "base URL of the serving router as clients reach it (Services' URL); runs Services through /v1/contract/serving, which `eddy serving --runtime kubernetes` follows",
    )
    .option('--host <host>', 'address of the contract feed, /metrics and health endpoints', '127.0.0.1')
    .option(
      '--port <port>',
      'port of the contract feed, /metrics and health endpoints (0 = any free one)',
      '8081',
    )
    .option('--namespace <ns>', 'reconcile the resources of this namespace only (default: every namespace)')
    .option(
      '--lease-namespace <ns>',
      'namespace of the leader-election Lease (default $POD_NAMESPACE or eddy-system)',
    )
    .option('--lease-name <name>', 'name of the leader-election Lease', 'eddy-controller')
    .option('--id <identity>', 'this replica in the Lease (default host name + random suffix)')
    .option('--webhook-port <port>', 'port of the admission webhook (HTTPS; 0 = any free one)', '8443')
    .option('--webhook-host <host>', 'address of the admission webhook (default: --host)')
    .option(
      '--webhook-cert-dir <dir>',
      'keep (or find) the webhook CA and certificate here: ca.crt, tls.crt, tls.key',
    )
    .option(
      '--webhook-service <ns/name[:port]>',
      'register the webhook behind this Service (in a cluster) instead of at its own https URL',
    )
    .option(
      '--webhook-owner <clusterrole/name>',
      "make this ClusterRole the webhook configurations' owner, so deleting it (helm uninstall) deletes them",
    )
    .option(
      '--eventtype-auto-create',
      "create an EventType for every new (type, source) a Broker or channel receives (Knative's eventtype-auto-create; also on with `eventtype-auto-create: enabled` in ConfigMap knative-eventing/config-features)",
    )
    .option('--ingress-auth <mode>', INGRESS_AUTH_HELP)
    .option('--oidc-issuer <url>', OIDC_ISSUER_HELP, collect, [])
    .option('--progress-deadline <duration>', PROGRESS_DEADLINE_HELP)
    .option('--broker-ttl <n>', BROKER_TTL_HELP)
    .option(
      '--oidc-signing-key <file>',
      `Eddy's OIDC signing key (PEM, ECDSA P-256; default $${OIDC_SIGNING_KEY_ENV}): the controller serves its discovery document and JWKS, and signs its senders' tokens`,
    )
    .option(
      '--oidc-issuer-url <url>',
      `the issuer URL in Eddy's tokens, where receivers find /.well-known/openid-configuration (default $${OIDC_ISSUER_ENV}, else this server's URL)`,
    )
    .option(
      '--no-webhook',
      'serve and register no admission webhook (kubectl apply then checks only the CRD schemas)',
    )
    .option(
      '--lease-duration <seconds>',
      'how long a standby waits after the last renewal it saw before taking over',
      '15',
    )
    .option('--renew-deadline <seconds>', 'a leader that could not renew for this long stops leading', '10')
    .option('--retry-period <seconds>', 'how often the Lease is renewed or tried', '2')
    .option('--log-level <level>', `logs (pino JSON) on stderr: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (opts: ControllerCommandOptions) => {
      setExit(await runController(opts, output));
    });
}
