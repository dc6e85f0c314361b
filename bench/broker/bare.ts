// The raw baseline: a bare Node HTTP server that reads the body and answers 202, nothing else.
//
//   node bench/broker/bare.ts <port>      (prints "bare listening on <port>")
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.writeHead(202).end());
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`bare listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
