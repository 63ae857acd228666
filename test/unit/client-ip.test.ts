import type { IncomingMessage } from 'node:http';
import { clientIp, type TrustProxy } from '../../src/infra/http';

// The caller's address under each TRUST_PROXY form. The caller controls every X-Forwarded-For
// entry left of what its first trusted proxy appended, so those never decide the address unless
// every hop is trusted (TRUST_PROXY=true).

function request(socket: string, xff?: string): IncomingMessage {
  return { headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, socket: { remoteAddress: socket }, connection: { remoteAddress: socket } } as unknown as IncomingMessage;
}

describe('clientIp', () => {
  test.each<[string, TrustProxy, string, string | undefined, string]>([
    ['false: the socket, whatever the header says', false, '198.51.100.1', '203.0.113.9', '198.51.100.1'],
    ['0 hops: the socket', 0, '198.51.100.1', '203.0.113.9', '198.51.100.1'],
    ['a dual-stack socket reports IPv4 as itself', false, '::ffff:198.51.100.1', undefined, '198.51.100.1'],
    ['true: the left-most entry', true, '10.0.0.1', '203.0.113.9, 198.51.100.7', '203.0.113.9'],
    ['1 hop: the entry the proxy appended, not the spoofed left-most one', 1, '10.0.0.1', '203.0.113.9, 198.51.100.7', '198.51.100.7'],
    ['1 hop with several spoofed entries', 1, '10.0.0.1', '1.1.1.1, 2.2.2.2, 3.3.3.3, 198.51.100.7', '198.51.100.7'],
    ['2 hops: the entry the outer proxy appended', 2, '10.0.0.1', '203.0.113.9, 198.51.100.7, 10.0.0.2', '198.51.100.7'],
    ['2 hops but only one entry: the entry', 2, '10.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['1 hop without a header: the socket', 1, '10.0.0.1', undefined, '10.0.0.1'],
    ['a trusted proxy address: the right-most untrusted entry', ['10.0.0.1'], '10.0.0.1', '203.0.113.9, 198.51.100.7', '198.51.100.7'],
    ['trusted CIDR ranges: proxies in them are skipped, spoofed entries left of the client ignored', ['10.0.0.0/8', '172.16.0.0/12'], '10.0.0.1', '203.0.113.9, 198.51.100.7, 172.16.4.4, 10.9.9.9', '198.51.100.7'],
    ['a spoofed entry that names a trusted proxy does not move the client', ['10.0.0.0/8'], '10.0.0.1', '10.1.1.1, 198.51.100.7', '198.51.100.7'],
    ['a socket outside the trusted ranges: the socket, the header ignored', ['10.0.0.0/8'], '198.51.100.50', '203.0.113.9', '198.51.100.50'],
    ['an IPv4 range trusts a dual-stack socket of that range', ['10.0.0.0/8'], '::ffff:10.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['IPv6 proxies and clients', ['2001:db8:ffff::/48'], '2001:db8:ffff::1', '2001:db8:1::99, 2001:db8:2::7', '2001:db8:2::7'],
    ['loopback by name', ['loopback'], '127.0.0.1', '203.0.113.9, 198.51.100.7', '198.51.100.7'],
    ['an entry that is not an address counts as the nearest hop that is', 1, '10.0.0.1', 'not-an-ip', '10.0.0.1'],
    ['true with a garbage left-most entry: the nearest real address', true, '10.0.0.1', 'garbage, 198.51.100.7', '198.51.100.7'],
  ])('%s', (_label, trust, socket, xff, expected) => {
    expect(clientIp(request(socket, xff), trust)).toBe(expected);
  });
});
