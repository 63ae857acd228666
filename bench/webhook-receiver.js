// Receiver for bench/webhooks.ts: answers 204 to every POST, counts them, and (when asked)
// prints one line per receipt with the webhook-id and the time, for event-to-receipt latency.
// GET /stats answers the count. POSTs under /hang are never answered (a hanging endpoint).
const http = require('node:http');

let count = 0;
let trace = false;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    if (req.url === '/trace/on') trace = true;
    if (req.url === '/reset') count = 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ count }));
  }
  req.on('data', () => {});
  // A hanging endpoint: never answered (the worker's timeout ends it).
  if (req.url.startsWith('/hang')) return;
  req.on('end', () => {
    count++;
    if (trace) process.stdout.write(`R ${req.headers['webhook-id']} ${Date.now()}\n`);
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
