import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type tls from 'node:tls';
import { logger } from './logger';

// Where the API listens: plain HTTP, or with TLS_CERT_FILE/TLS_KEY_FILE HTTPS with HTTP/2 by ALPN
// (HTTP/1.1 clients are served on the same port through node:http2's compatibility layer, so the
// request handler is the same). The certificate and key are re-read when either file changes
// (polled every second, which also sees a Kubernetes secret's symlink swap) and on SIGHUP; a pair
// that does not load is logged and the previous one stays in use.

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Unreadable or mismatched certificate files (start-up stops with its one-line message). */
export class TlsFilesError extends Error {}

/** Sent on every HTTPS answer: browsers and clients that honour it never try plain HTTP again. */
export const HSTS = 'max-age=31536000; includeSubDomains';

export interface Listener {
  server: net.Server;
  scheme: 'http' | 'https';
  /** Re-reads the certificate files; false (and logged) when they do not load. */
  reloadTls(): boolean;
  /** Stops accepting, lets requests in flight finish, then closes every connection. */
  close(): Promise<void>;
}

/** Reads and checks a PEM certificate and its private key; a TlsFilesError names the variable at fault. */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (file: string, variable: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new TlsFilesError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const cert = read(files.certFile, 'TLS_CERT_FILE');
  const key = read(files.keyFile, 'TLS_KEY_FILE');
  let x509: crypto.X509Certificate;
  let privateKey: crypto.KeyObject;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch {
    throw new TlsFilesError(`TLS_CERT_FILE: ${files.certFile} is not a PEM certificate`);
  }
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch {
    throw new TlsFilesError(`TLS_KEY_FILE: ${files.keyFile} is not an unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new TlsFilesError(`TLS_KEY_FILE: ${files.keyFile} is not the private key of the certificate in TLS_CERT_FILE`);
  return { cert, key };
}

/** A plain HTTP listener around an existing server. */
export function plainListener(server: http.Server): Listener {
  return {
    server,
    scheme: 'http',
    reloadTls: () => false,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** HTTPS + HTTP/2 on one port, with certificate reload and HSTS. Throws TlsFilesError for bad files. */
export function tlsListener(handler: RequestHandler, files: TlsFiles): Listener {
  const server = http2.createSecureServer({ ...readTlsFiles(files), allowHTTP1: true });
  const connections = trackConnections(server);
  server.on('request', (req, res) => {
    res.setHeader('strict-transport-security', HSTS);
    handler(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
  const reloadTls = (): boolean => {
    try {
      server.setSecureContext(readTlsFiles(files));
      logger.info({ cert: files.certFile }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      logger.error({ err: (err as Error).message.replace(/\s+/g, ' ') }, 'TLS certificate reload failed; the previous certificate stays in use');
      return false;
    }
  };
  const onChange = (curr: fs.Stats, prev: fs.Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) reloadTls();
  };
  for (const file of [files.certFile, files.keyFile]) fs.watchFile(file, { interval: 1000, persistent: false }, onChange);
  const close = async () => {
    for (const file of [files.certFile, files.keyFile]) fs.unwatchFile(file, onChange);
    await connections.close();
  };
  return { server, scheme: 'https', reloadTls, close };
}

/**
 * HTTP/2 sessions and HTTP/1.1 sockets of a secure server, so closing can end them: sessions with
 * GOAWAY (streams in flight finish), idle HTTP/1.1 sockets at once, busy ones after their answer.
 */
function trackConnections(server: http2.Http2SecureServer) {
  const sessions = new Set<http2.ServerHttp2Session>();
  const busy = new Map<net.Socket, number>();
  const sockets = new Set<net.Socket>();
  let closing = false;
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('secureConnection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
  });
  server.on('request', (req: http2.Http2ServerRequest) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as net.Socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    req.on('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, left);
      if (closing && left === 0) socket.end();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        for (const session of sessions) session.close();
        for (const socket of sockets) if ((socket as tls.TLSSocket).alpnProtocol !== 'h2' && !busy.get(socket)) socket.end();
        // Whatever is still open after 10 s (a client that never reads its answer) is cut.
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
          resolve();
        }, 10_000).unref();
      }),
  };
}
