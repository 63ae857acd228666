// Baseline for bench/gateway.ts: the least a gateway can do. A bare node:http server that reads
// the request, optionally makes one Redis round trip (BARE_PROXY_REDIS=1: the round trip exact
// limits shared between instances need), and forwards it with undici to UPSTREAM, answering with
// the upstream's status and body. No keys, no policy, no counting.
const http = require('node:http');
const { Agent } = require('undici');
const Redis = require('ioredis');

const upstream = process.env.UPSTREAM;
const agent = new Agent({ connections: 512, keepAliveTimeout: 30_000 });
const redis = process.env.BARE_PROXY_REDIS === '1' ? new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379') : null;
const SCRIPT = "return redis.call('INCR', KEYS[1])";
const counterKey = `${process.env.BARE_PROXY_PREFIX || 'kwbench:bare-proxy'}:n`;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      if (redis) await redis.eval(SCRIPT, 1, counterKey);
      const body = Buffer.concat(chunks);
      const r = await agent.request({ origin: upstream, path: req.url, method: req.method, headers: { 'content-type': req.headers['content-type'] || 'application/json', 'content-length': String(body.length) }, body });
      const out = Buffer.from(await r.body.arrayBuffer());
      res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] || 'application/json', 'content-length': out.length });
      res.end(out);
    } catch (err) {
      res.writeHead(502);
      res.end(String(err));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
