import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { isolatedPrefix } from '../helpers/harness';
import { runCli, spawnCli, type Spawned } from '../helpers/processes';

// HTTPS and HTTP/2 from TLS_CERT_FILE/TLS_KEY_FILE: a self-signed certificate made here with the
// openssl CLI, requests over HTTP/2 and HTTP/1.1, HSTS, a certificate swapped under a running
// server, bad files, and the production refusal of plain HTTP on a non-loopback host.

jest.setTimeout(120_000);

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-tls-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1/localhost with its key, as PEM files. */
async function makeCert(name: string, cn: string): Promise<{ certFile: string; keyFile: string; cert: string }> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8') };
}

function fingerprint(pem: string): string {
  return new crypto.X509Certificate(pem).fingerprint256;
}

/** The fingerprint of the certificate the server presents now. */
function servedFingerprint(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function h2Request(url: URL, ca: string, reqPath: string, body?: unknown): Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(url.origin, { ca });
    client.on('error', reject);
    const headers: http2.OutgoingHttpHeaders = { ':path': reqPath, ':method': body === undefined ? 'GET' : 'POST' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = client.request(headers);
    let text = '';
    let answer: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (answer = h));
    req.setEncoding('utf8');
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const alpn = (client.socket as tls.TLSSocket).alpnProtocol;
      client.close();
      resolve({ status: Number(answer[':status']), headers: answer, text, alpn });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function h1Request(url: URL, ca: string, reqPath: string): Promise<{ status: number; headers: Record<string, unknown>; text: string; httpVersion: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(reqPath, url), { ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, httpVersion: res.httpVersion }));
    });
    req.on('error', reject);
  });
}

function apiEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return { DATABASE_URL: process.env.TEST_DATABASE_URL, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false', KEYWARDEN_REDIS_PREFIX: isolatedPrefix('tls'), ...extra };
}

describe('an API with TLS_CERT_FILE and TLS_KEY_FILE', () => {
  let p: Spawned;
  let url: URL;
  let first: Awaited<ReturnType<typeof makeCert>>;

  beforeAll(async () => {
    first = await makeCert('live', 'keywarden-first');
    p = spawnCli(['api'], apiEnv({ TLS_CERT_FILE: first.certFile, TLS_KEY_FILE: first.keyFile }));
    const [, u] = await p.waitFor(/"url":"(https:\/\/[^"]+)"/, 90_000);
    url = new URL(u);
  });
  afterAll(async () => {
    p.child.kill('SIGTERM');
    await p.exited;
  });

  test('serves HTTP/2 by ALPN with HSTS, the data plane included', async () => {
    const health = await h2Request(url, first.cert, '/healthz');
    expect(health.alpn).toBe('h2');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    expect(health.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    const verify = await h2Request(url, first.cert, '/v1/keys/verify', { key: 'ak_prod_notakey' });
    expect(verify.status).toBe(200);
    expect(JSON.parse(verify.text)).toMatchObject({ valid: false, code: 'NOT_FOUND' });
    const graphql = await h2Request(url, first.cert, '/graphql', { query: '{ __typename }' });
    // The admin API answers over HTTP/2 too (a request without a key is refused before parsing).
    expect(graphql.status).toBe(401);
    expect(JSON.parse(graphql.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('serves HTTP/1.1 clients on the same port, with HSTS', async () => {
    const r = await h1Request(url, first.cert, '/healthz');
    expect(r.httpVersion).toBe('1.1');
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
  });

  test('a certificate replaced on disk is served without a restart; a broken replacement keeps the last good one', async () => {
    expect(await servedFingerprint(url)).toBe(fingerprint(first.cert));
    const second = await makeCert('next', 'keywarden-second');
    // As a certificate manager does: new files written aside, then moved into place.
    fs.copyFileSync(second.keyFile, `${first.keyFile}.tmp`);
    fs.copyFileSync(second.certFile, `${first.certFile}.tmp`);
    fs.renameSync(`${first.keyFile}.tmp`, first.keyFile);
    fs.renameSync(`${first.certFile}.tmp`, first.certFile);
    await p.waitFor(/TLS certificate reloaded/, 30_000);
    let served = await servedFingerprint(url);
    for (let i = 0; i < 100 && served !== fingerprint(second.cert); i++) {
      await new Promise((r) => setTimeout(r, 200));
      served = await servedFingerprint(url);
    }
    expect(served).toBe(fingerprint(second.cert));
    const r = await h2Request(url, second.cert, '/healthz');
    expect(r.status).toBe(200);

    // A key that does not belong to the certificate: logged, and the second pair stays.
    const third = await makeCert('stray', 'keywarden-third');
    fs.copyFileSync(third.keyFile, first.keyFile);
    await p.waitFor(/TLS certificate reload failed/, 30_000);
    expect(await servedFingerprint(url)).toBe(fingerprint(second.cert));
    expect((await h2Request(url, second.cert, '/healthz')).status).toBe(200);
  });
});

describe('bad certificate files stop start-up with one line naming the variable', () => {
  test.each<[string, () => Promise<Record<string, string>>, string]>([
    ['a certificate file that does not exist', async () => ({ TLS_CERT_FILE: path.join(dir, 'missing.crt'), TLS_KEY_FILE: (await makeCert('a', 'a')).keyFile }), 'TLS_CERT_FILE'],
    ['a key file that is not PEM', async () => ({ TLS_CERT_FILE: (await makeCert('b', 'b')).certFile, TLS_KEY_FILE: __filename }), 'TLS_KEY_FILE'],
    ['a key of another certificate', async () => ({ TLS_CERT_FILE: (await makeCert('c', 'c')).certFile, TLS_KEY_FILE: (await makeCert('d', 'd')).keyFile }), 'TLS_KEY_FILE'],
    ['a certificate without its key', async () => ({ TLS_CERT_FILE: (await makeCert('e', 'e')).certFile }), 'TLS_KEY_FILE'],
  ])('%s', async (_label, files, variable) => {
    const r = await runCli(['api'], apiEnv(await files()));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(variable);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toContain('Keywarden API listening');
  });
});

describe('production refuses plain HTTP on a non-loopback host', () => {
  const production = { NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'), HOST: '0.0.0.0' };

  test('without TLS or a proxy: exit 1, naming both ways out', async () => {
    const r = await runCli(['api'], apiEnv(production));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HOST=0.0.0.0');
    expect(r.stderr).toContain('TLS_CERT_FILE');
    expect(r.stderr).toContain('TRUST_PROXY');
    expect(r.stdout).not.toContain('Keywarden API listening');
  });

  test('with TLS it starts on HTTPS', async () => {
    const cert = await makeCert('prod', 'keywarden-prod');
    const p = spawnCli(['api'], apiEnv({ ...production, TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile }));
    try {
      const [, u] = await p.waitFor(/"url":"(https:\/\/[^"]+)"/, 90_000);
      const port = new URL(u).port;
      expect((await h2Request(new URL(`https://127.0.0.1:${port}`), cert.cert, '/healthz')).status).toBe(200);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
