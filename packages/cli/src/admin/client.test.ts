import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_ENV, AdminClient, SERVER_ENV } from './client.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** An admin API that answers 200 `{auth}` to the token `good`, 401 otherwise. */
async function adminApi(): Promise<string> {
  const api = createServer((req, res) => {
    const ok = req.headers.authorization === 'Bearer good';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { path: req.url } : { error: 'bad token' }));
  });
  server = api;
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
}

describe('AdminClient --server', () => {
  it('talks to the given admin API with the token from EDDY_ADMIN_TOKEN, no data dir needed', async () => {
    const url = await adminApi();
    const client = await AdminClient.connect({ server: `${url}/` }, {}, { [ADMIN_TOKEN_ENV]: 'good' });
    expect(await client.get('/v1/resources')).toEqual({ path: '/v1/resources' });
  });

  it('takes EDDY_SERVER when no flag is given', async () => {
    const url = await adminApi();
    const client = await AdminClient.connect({}, {}, { [SERVER_ENV]: url, [ADMIN_TOKEN_ENV]: 'good' });
    expect(client.admin.url).toBe(url);
  });

  it('says which token was refused', async () => {
    const url = await adminApi();
    const client = await AdminClient.connect({ server: url }, {}, { [ADMIN_TOKEN_ENV]: 'wrong' });
    await expect(client.get('/v1/resources')).rejects.toThrow(
      `the admin API at ${url} rejected the token in ${ADMIN_TOKEN_ENV} (401: bad token)`,
    );
  });

  it('refuses a server that is not an http(s) URL, naming the flag', async () => {
    await expect(AdminClient.connect({ server: 'controller:8081' }, {}, {})).rejects.toThrow(
      '--server (or EDDY_SERVER) must be an http(s) URL, got "controller:8081"',
    );
  });
});
