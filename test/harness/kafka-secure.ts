// A one-node Kafka (startKafka) that also listens with SASL and TLS: SASL_PLAINTEXT, SSL and
// SASL_SSL listeners beside the harness's PLAINTEXT one, a throwaway CA and broker certificate made
// with keytool, and one user known to PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 alike.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './free-ports.ts';
import { type KafkaCluster, startKafka } from './kafka.ts';
import { javaCommand } from './maven-classpath.ts';

export interface SecureKafka {
  readonly cluster: KafkaCluster;
  /** `127.0.0.1:<port>` per listener; `plaintext` is the harness's own. */
  readonly listeners: { plaintext: string; saslPlaintext: string; ssl: string; saslSsl: string };
  /** The PEM CA that signed the broker's certificate (for `localhost` and 127.0.0.1). */
  readonly caFile: string;
  readonly caPem: string;
  readonly username: string;
  readonly password: string;
  stop(): Promise<void>;
}

const USERNAME = 'eddy-test';
const PASSWORD = 'eddy-test-secret';
const STORE_PASSWORD = 'eddy-test-store';

const run = promisify(execFile);

/** keytool next to the java the harness runs Kafka with (JAVA_HOME or PATH). */
function keytool(): string {
  const java = javaCommand();
  return java === 'java' ? 'keytool' : join(java, '..', 'keytool');
}

/** A CA and a broker key store (PKCS12) holding the broker's key and the certificate the CA signed. */
async function makeCertificates(dir: string): Promise<{ caFile: string; keyStore: string }> {
  const kt = (...args: string[]) =>
    run(keytool(), ['-J-XX:TieredStopAtLevel=1', ...args], { timeout: 60_000 });
  const store = (file: string) => [
    '-keystore',
    join(dir, file),
    '-storetype',
    'PKCS12',
    '-storepass',
    STORE_PASSWORD,
  ];
  const caFile = join(dir, 'ca.pem');
  const keyStore = join(dir, 'broker.p12');
  const keyPair = ['-genkeypair', '-keyalg', 'EC', '-groupname', 'secp256r1', '-validity', '2'];
  await Promise.all([
    kt(...keyPair, '-alias', 'ca', '-dname', 'CN=eddy-test-ca', '-ext', 'bc:c', ...store('ca.p12')),
    kt(...keyPair, '-alias', 'broker', '-dname', 'CN=localhost', ...store('broker.p12')),
  ]);
  await Promise.all([
    kt('-exportcert', '-rfc', '-alias', 'ca', '-file', caFile, ...store('ca.p12')),
    kt('-certreq', '-alias', 'broker', '-file', join(dir, 'broker.csr'), ...store('broker.p12')),
  ]);
  await kt(
    '-gencert',
    '-rfc',
    '-alias',
    'ca',
    '-infile',
    join(dir, 'broker.csr'),
    '-outfile',
    join(dir, 'broker.crt'),
    '-ext',
    'SAN=dns:localhost,ip:127.0.0.1',
    '-validity',
    '2',
    ...store('ca.p12'),
  );
  // The chain must be importable: the CA first, then the signed certificate replaces the self-signed one.
  await kt('-importcert', '-noprompt', '-alias', 'ca', '-file', caFile, ...store('broker.p12'));
  await kt(
    '-importcert',
    '-noprompt',
    '-alias',
    'broker',
    '-file',
    join(dir, 'broker.crt'),
    ...store('broker.p12'),
  );
  return { caFile, keyStore };
}

export async function startSecureKafka(): Promise<SecureKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-kafka-tls-'));
  try {
    const { caFile, keyStore } = await makeCertificates(dir);
    const [saslPlaintextPort, sslPort, saslSslPort] = (await freePorts(3)) as [number, number, number];
    const saslListeners = ['sasl_plaintext', 'sasl_ssl'];
    const jaas: Record<string, string> = {};
    for (const listener of saslListeners) {
      jaas[`listener.name.${listener}.plain.sasl.jaas.config`] =
        `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USERNAME}="${PASSWORD}";`;
      for (const scram of ['scram-sha-256', 'scram-sha-512']) {
        jaas[`listener.name.${listener}.${scram}.sasl.jaas.config`] =
          'org.apache.kafka.common.security.scram.ScramLoginModule required;';
      }
    }
    const cluster = await startKafka({
      readDirs: [dir],
      serverProperties: ({ port, controllerPort }) => {
        const listeners = [
          `PLAINTEXT://127.0.0.1:${port}`,
          `CONTROLLER://127.0.0.1:${controllerPort}`,
          `SASL_PLAINTEXT://127.0.0.1:${saslPlaintextPort}`,
          `SSL://127.0.0.1:${sslPort}`,
          `SASL_SSL://127.0.0.1:${saslSslPort}`,
        ].join(',');
        return {
          listeners,
          'advertised.listeners': listeners,
          'listener.security.protocol.map':
            'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
          'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
          'ssl.keystore.type': 'PKCS12',
          'ssl.keystore.location': keyStore,
          'ssl.keystore.password': STORE_PASSWORD,
          'ssl.key.password': STORE_PASSWORD,
          ...jaas,
        };
      },
      formatArguments: ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
        '--add-scram',
        `${m}=[name=${USERNAME},password=${PASSWORD}]`,
      ]),
    });
    return {
      cluster,
      listeners: {
        plaintext: cluster.brokers[0]!,
        saslPlaintext: `127.0.0.1:${saslPlaintextPort}`,
        ssl: `127.0.0.1:${sslPort}`,
        saslSsl: `127.0.0.1:${saslSslPort}`,
      },
      caFile,
      caPem: readFileSync(caFile, 'utf8'),
      username: USERNAME,
      password: PASSWORD,
      async stop() {
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
