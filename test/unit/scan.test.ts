import crypto from 'node:crypto';
import { findSecretsInLine, leakedEndpoint } from '../../src/keys/scan';
import { BASE62_ALPHABET, checksumOf, generateSecret, type SecretEnv } from '../../src/keys/secret';

const ENVS: SecretEnv[] = ['dev', 'prod', 'int', 'emg', 'root'];

/** The secret with its checksum deliberately wrong (the last char changed). */
function wrongChecksum(secret: string): string {
  return secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
}

const withChecksum = (head: string) => head + checksumOf(head);

function randomBase62(n: number): string {
  return Array.from(crypto.randomBytes(n), (b) => BASE62_ALPHABET[b % 62]).join('');
}

describe('findSecretsInLine finds real secrets', () => {
  test.each(ENVS)('a %s secret on its own', (env) => {
    const secret = generateSecret(env);
    expect(findSecretsInLine(secret)).toEqual([secret]);
  });

  test.each<[string, (s: string) => string]>([
    ['an env assignment', (s) => `KEYWARDEN_KEY=${s}`],
    ['a quoted JSON value', (s) => `{"apiKey": "${s}", "other": 1}`],
    ['a YAML value', (s) => `  api_key: '${s}'`],
    ['a bearer header', (s) => `curl -H "Authorization: Bearer ${s}" https://api`],
    ['a URL query', (s) => `https://example.com/hook?key=${s}&x=1`],
    ['a sentence ending in a full stop', (s) => `the key is ${s}.`],
    ['a code string', (s) => `const key = \`${s}\`;`],
  ])('a secret in %s', (_label, wrap) => {
    const secret = generateSecret('prod');
    expect(findSecretsInLine(wrap(secret))).toEqual([secret]);
  });

  test('every secret on a line, in order', () => {
    const a = generateSecret('dev');
    const b = generateSecret('root');
    expect(findSecretsInLine(`A=${a} B=${b}`)).toEqual([a, b]);
  });

  test('the same secret twice on a line is reported twice', () => {
    const a = generateSecret('int');
    expect(findSecretsInLine(`${a},${a}`)).toEqual([a, a]);
  });

  test('repeated calls give the same result (no regex state carried over)', () => {
    const a = generateSecret('emg');
    const line = `x ${a} y`;
    expect(findSecretsInLine(line)).toEqual([a]);
    expect(findSecretsInLine(line)).toEqual([a]);
    expect(findSecretsInLine(line)).toEqual([a]);
  });

  test('a real secret is found next to a look-alike', () => {
    const real = generateSecret('prod');
    const fake = wrongChecksum(generateSecret('prod'));
    expect(findSecretsInLine(`${fake} ${real}`)).toEqual([real]);
  });
});

describe('findSecretsInLine ignores look-alikes', () => {
  test.each(ENVS)('a %s secret with a wrong checksum', (env) => {
    expect(findSecretsInLine(`KEY=${wrongChecksum(generateSecret(env))}`)).toEqual([]);
  });

  test('a secret with a changed body character', () => {
    const s = generateSecret('dev');
    const i = 12;
    const changed = s.slice(0, i) + (s[i] === 'Z' ? 'Y' : 'Z') + s.slice(i + 1);
    expect(findSecretsInLine(changed)).toEqual([]);
  });

  test('a prefix with a random body and random checksum (100 tries)', () => {
    for (let i = 0; i < 100; i++) {
      const head = `ak_prod_${randomBase62(43)}`;
      let tail = randomBase62(6);
      if (tail === checksumOf(head)) tail = tail.split('').reverse().join('');
      expect(findSecretsInLine(head + tail)).toEqual([]);
    }
  });

  test.each([
    ['an unknown env with a valid checksum', () => withChecksum(`ak_test_${randomBase62(43)}`)],
    ['an upper-case prefix with a valid checksum', () => withChecksum(`AK_DEV_${randomBase62(43)}`)],
    ['another vendor token shape', () => `sk_live_${randomBase62(40)}`],
    ['a random base62 string', () => randomBase62(60)],
    ['a UUID', () => crypto.randomUUID()],
    ['a hex digest', () => crypto.randomBytes(32).toString('hex')],
    ['a webhook secret', () => `whsec_${crypto.randomBytes(32).toString('base64')}`],
    ['the bare prefix', () => 'ak_dev_'],
    ['a masked key', () => 'ak_dev_AbCd…****'],
    ['an empty line', () => ''],
  ])('%s', (_label, make: () => string) => {
    expect(findSecretsInLine(`value: ${make()}`)).toEqual([]);
  });
});

describe('scan --report sends secrets in clear only to this machine', () => {
  test.each(['http://127.0.0.1:4000', 'http://localhost:4000/', 'http://[::1]:4000', 'https://keywarden.example.com', 'https://10.0.0.5/base/'])('%s is accepted', (url) => {
    expect(leakedEndpoint(url).pathname).toMatch(/\/v1\/keys\/leaked$/);
  });

  test.each(['http://keywarden.example.com', 'http://10.0.0.5:4000', 'http://0.0.0.0:4000', 'http://[2001:db8::1]/'])('%s is refused', (url) => {
    expect(() => leakedEndpoint(url)).toThrow(/plain http is allowed only to a loopback host/);
  });
});
