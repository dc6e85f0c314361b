// Free 127.0.0.1 ports for replicas. The OS picks a free port (bind to port 0, then release it);
// ports handed to live replicas are remembered so two replicas never get the same one while the
// first has not bound it yet.

import { createServer } from 'node:net';

export class PortAllocator {
  readonly #inUse = new Set<number>();

  async take(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await osFreePort();
      if (!this.#inUse.has(port)) {
        this.#inUse.add(port);
        return port;
      }
    }
    throw new Error('process runtime: could not find a free port on 127.0.0.1 after 50 attempts');
  }

  release(port: number): void {
    this.#inUse.delete(port);
  }
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
