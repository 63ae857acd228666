#!/usr/bin/env node
// The container's HEALTHCHECK: GET /healthz on this machine, exit 0 when it answers 200.
// `node bin/healthcheck.js` checks the API on PORT (HTTPS when TLS_CERT_FILE is set; the
// certificate is not checked: the name is 127.0.0.1, the peer is this container);
// `node bin/healthcheck.js --worker` checks a worker-only process on METRICS_PORT.
const http = require('node:http');
const https = require('node:https');

const worker = process.argv.includes('--worker');
const port = Number(worker ? process.env.METRICS_PORT : process.env.PORT || 4000);
const secure = !worker && Boolean(process.env.TLS_CERT_FILE);
const client = secure ? https : http;
const req = client.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
});
