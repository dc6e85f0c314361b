// @platformatic/kafka's connection options for Eddy's KafkaSecurity: one translation for all three
// kinds of client the log builds (admin, producer, group consumers), which must connect alike.
import type { ConnectionOptions, SASLMechanismValue } from '@platformatic/kafka';
import type { KafkaSaslMechanism, KafkaSecurity } from '../kafka-common/kafka-security.js';

export type PlatformaticSecurity = Pick<ConnectionOptions, 'tls' | 'sasl'>;

const MECHANISMS: Record<KafkaSaslMechanism, SASLMechanismValue> = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
};

export function platformaticSecurity({ tls, sasl }: KafkaSecurity): PlatformaticSecurity {
  return {
    ...(tls
      ? {
          tls: {
            ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
            ...(tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
          },
        }
      : {}),
    ...(sasl
      ? { sasl: { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password } }
      : {}),
  };
}
