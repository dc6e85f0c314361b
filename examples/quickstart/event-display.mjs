// Prints every CloudEvent it receives (binary or structured HTTP mode) and answers 202.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const ce = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('ce-')));
    console.log(JSON.stringify({ path: req.url, ...ce, body: Buffer.concat(chunks).toString('utf8') }));
    res.writeHead(202).end();
  });
});
server.listen(port, () => console.log(`event-display listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
