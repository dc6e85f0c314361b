// Fetches the Apache Kafka server jars from Maven Central into a git-ignored cache, once per version.
import { join } from 'node:path';
import { peerCacheRoot, peerVersion } from './harness-cache.ts';
import { cdsArchivePath as jvmCdsArchivePath } from './jvm-cds.ts';
import { ensureMavenClasspath } from './maven-classpath.ts';

export { REPO_ROOT } from './harness-cache.ts';

/**
 * The newest Kafka 4.x whose whole runtime dependency tree resolves from Maven Central (see
 * test/README.md: 4.4.0 is published, but its `kafka-tools-api` artifact is not).
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';

/** Kafka 4.x logs through SLF4J 1.7 but ships no backend; the distribution tarball bundles log4j2. */
const LOG4J_VERSION = '2.25.3';

export function kafkaCacheRoot(): string {
  return peerCacheRoot('kafka', 'EDDY_KAFKA_CACHE_DIR');
}

export function kafkaVersion(): string {
  return peerVersion('EDDY_KAFKA_VERSION', DEFAULT_KAFKA_VERSION);
}

/** Where the class-data-sharing archive of this Kafka version and JVM build lives. */
export function cdsArchivePath(version: string, javaVersionText: string): string {
  return jvmCdsArchivePath(join(kafkaCacheRoot(), version), javaVersionText);
}

/**
 * Returns the folder holding every jar of the Kafka server (the classpath is `<folder>/*`),
 * downloading them with Maven on first use (log in `<cache>/<version>/mvn.log`).
 */
export function ensureKafkaLibs(
  version: string = kafkaVersion(),
  log: (line: string) => void = () => {},
): Promise<string> {
  return ensureMavenClasspath({
    dir: join(kafkaCacheRoot(), version),
    what: `Apache Kafka ${version}`,
    dependencies: [
      { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: LOG4J_VERSION },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: LOG4J_VERSION },
    ],
    requiredJarPrefix: 'kafka_2.13-',
    log,
  });
}
