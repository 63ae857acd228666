// Baseline for bench/verify.ts: a bare node:http server that reads a JSON body and answers a
// verify-shaped JSON document, with nothing else to do.
const http = require('node:http');

const answer = JSON.stringify({
  valid: true,
  code: 'VALID',
  keyId: '00000000-0000-4000-8000-000000000000',
  accountId: '00000000-0000-4000-8000-000000000001',
  permission: 'EXECUTE',
  scope: { kind: 'ALL_AGENTS', agentId: null, workflowIds: [] },
  expiresAt: '2027-11-24T00:00:00.000Z',
  ratelimits: [
    { window: 'MINUTE', limit: 1000000, remaining: 999999, reset: 1795537734140 },
    { window: 'HOUR', limit: 10000000, remaining: 9999999, reset: 1795537734140 },
  ],
  quota: { limit: 1000000000, remaining: 999999999, reset: 1795537734140 },
});

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
