import http from 'node:http';

// HTTP requests over a connection from a chosen local address: every 127.0.0.0/8 address is
// loopback on Linux, so a test can be several clients (or a proxy and its clients) at once.

export interface FromResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/**
 * A request to `url`; `url`'s path is sent exactly as written (no dot segments resolved, no
 * escapes changed), as an attacker's client would send it.
 */
export function requestFrom(url: string, opts: { localAddress?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<FromResponse> {
  const origin = new URL(url);
  const path = url.slice(origin.origin.length) || '/';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: origin.hostname, port: origin.port, path, method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
