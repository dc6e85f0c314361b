// shop: a stand-in for a web shop, run by the ContainerSource `shop` (Knative's ContainerSource
// contract): it POSTs one order event every INTERVAL_MS (default 5000) to $K_SINK in CloudEvents
// binary mode, cycling through created, updated and cancelled, so both Triggers see traffic within
// seconds of `eddy dev` starting. Extensions from $K_CE_OVERRIDES are added to every event.
// Plain Node, no dependencies; stops on SIGTERM.
import { randomUUID } from 'node:crypto';

const sink = process.env.K_SINK;
if (!sink) {
  console.error('[shop] K_SINK is not set: run me as a ContainerSource');
  process.exit(1);
}
const intervalMs = Number(process.env.INTERVAL_MS ?? 5000);
const overrides = JSON.parse(process.env.K_CE_OVERRIDES || '{}').extensions ?? {};
const kinds = ['created', 'updated', 'cancelled'];

let n = 0;
async function emit() {
  n += 1;
  const kind = kinds[(n - 1) % kinds.length];
  const headers = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': randomUUID(),
    'ce-type': `com.example.order.${kind}`,
    'ce-source': '/shop/orders',
    'ce-subject': `order-${Math.ceil(n / kinds.length)}`,
    'ce-time': new Date().toISOString(),
  };
  for (const [name, value] of Object.entries(overrides)) headers[`ce-${name}`] = String(value);
  try {
    const res = await fetch(sink, {
      method: 'POST',
      headers,
      body: JSON.stringify({ order: Math.ceil(n / kinds.length), status: kind }),
    });
    if (!res.ok) console.error(`[shop] ${headers['ce-type']} refused: ${res.status} ${await res.text()}`);
    else console.log(`[shop] sent ${headers['ce-type']} ${headers['ce-subject']}`);
  } catch (error) {
    console.error(`[shop] cannot reach ${sink}: ${error.message}`);
  }
}

const timer = setInterval(emit, intervalMs);
void emit();
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
