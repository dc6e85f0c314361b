// patches/@platformatic__kafka@2.12.1.patch: requests queued on a connection that closes fail one by
// one instead of inside each other's callbacks. Unpatched, 20,000 queued requests (what 10,000
// consumer groups' OffsetFetch calls on one admin client were) end in "Maximum call stack size
// exceeded" after about 1,500 of them; with the patch every one fails with a NetworkError.
import { apiVersionsV3, Connection } from '@platformatic/kafka';
import { expect, inject, it } from 'vitest';

it('20,000 requests queued on a connection whose socket closes all fail, without a stack overflow', async () => {
  const [host, port] = inject('kafkaBrokers')[0]!.split(':');
  const connection = new Connection('eddy-queue-test', { maxInflights: 5 });
  await connection.connect(host!, Number(port));
  const total = 20_000;
  const outcomes = await new Promise<Map<string, number>>((resolve) => {
    const counts = new Map<string, number>();
    let settled = 0;
    for (let i = 0; i < total; i++) {
      apiVersionsV3.api(connection, 'eddy-queue-test', '1.0.0', (error: Error | null) => {
        const kind = error ? error.name : 'ok';
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        if (++settled === total) resolve(counts);
      });
    }
    // As the connection's own request timeout does (#onRequestTimeout destroys the socket).
    setImmediate(() => connection.socket.destroy());
  });
  expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(total);
  expect(outcomes.get('RangeError')).toBeUndefined();
  await connection.close();
}, 60_000);
