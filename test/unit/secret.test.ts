import crypto from 'node:crypto';
import baseX from 'base-x';
import { BASE62_ALPHABET, checksumOf, digestSecret, generateSecret, maskSecret, parseSecret, startOf, type SecretEnv } from '../../src/keys/secret';

// Reference implementations written independently of src, so the checksum format is checked
// against the spec (CRC32 of everything before it, 6 base62 chars) and not against itself.
const CRC_TABLE = (() => {
  const t: number[] = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t.push(c >>> 0);
  }
  return t;
})();

function referenceCrc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function referenceChecksum(text: string): string {
  let n = referenceCrc32(text);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62_ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const base62 = baseX(BASE62_ALPHABET);
const ALL_ENVS: SecretEnv[] = ['dev', 'prod', 'int', 'emg', 'root'];

function split(secret: string): { prefix: string; body: string; checksum: string } {
  const m = /^(ak_[a-z]+_)([0-9A-Za-z]+)$/.exec(secret);
  if (!m) throw new Error(`unexpected shape: ${secret}`);
  return { prefix: m[1], body: m[2].slice(0, -6), checksum: m[2].slice(-6) };
}

/** A different base62 character at position i. */
function changeCharAt(s: string, i: number): string {
  const c = s[i];
  const replacement = c === 'a' ? 'b' : 'a';
  return s.slice(0, i) + replacement + s.slice(i + 1);
}

/** A head with a checksum that really matches it (so only the shape can make it invalid). */
function withValidChecksum(head: string): string {
  return head + referenceChecksum(head);
}

describe('generateSecret', () => {
  test.each(ALL_ENVS)('a %s secret has the shape ak_<env>_<base62 body><6-char checksum>', (env) => {
    const secret = generateSecret(env);
    expect(secret).toMatch(new RegExp(`^ak_${env}_[0-9A-Za-z]{48,50}$`));
    const { prefix, body, checksum } = split(secret);
    expect(prefix).toBe(`ak_${env}_`);
    expect(checksum).toMatch(/^[0-9A-Za-z]{6}$/);
    expect(body.length).toBeGreaterThanOrEqual(42);
    expect(body.length).toBeLessThanOrEqual(44);
  });

  test.each(ALL_ENVS)('a %s secret body decodes to exactly 32 bytes', (env) => {
    for (let i = 0; i < 50; i++) {
      const { body } = split(generateSecret(env));
      expect(base62.decode(body)).toHaveLength(32);
    }
  });

  test.each(ALL_ENVS)('a %s secret ends with the CRC32 of everything before it as 6 base62 chars', (env) => {
    for (let i = 0; i < 50; i++) {
      const secret = generateSecret(env);
      const head = secret.slice(0, -6);
      expect(secret.slice(-6)).toBe(referenceChecksum(head));
    }
  });

  test.each(ALL_ENVS)('two %s secrets generated one after the other differ (body and digest)', (env) => {
    const a = generateSecret(env);
    const b = generateSecret(env);
    expect(a).not.toBe(b);
    expect(split(a).body).not.toBe(split(b).body);
    expect(digestSecret(a)).not.toBe(digestSecret(b));
  });

  test('a thousand generated secrets are all distinct', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateSecret('prod')));
    expect(seen.size).toBe(1000);
  });

  test('bodies use the whole base62 alphabet (not hex or a narrower set)', () => {
    const chars = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of split(generateSecret('dev')).body) chars.add(c);
    expect(chars.size).toBeGreaterThan(55);
    for (const c of chars) expect(BASE62_ALPHABET).toContain(c);
  });
});

describe('checksumOf', () => {
  test.each([
    ['', '000000'],
    ['ak_dev_', referenceChecksum('ak_dev_')],
    ['The quick brown fox jumps over the lazy dog', referenceChecksum('The quick brown fox jumps over the lazy dog')],
  ])('checksum of %j is %s (6 chars, left-padded with 0)', (text, expected) => {
    expect(checksumOf(text)).toBe(expected);
    expect(checksumOf(text)).toHaveLength(6);
  });

  test('the CRC32 of a known vector ("123456789" -> 0xCBF43926) is encoded in base62', () => {
    // 0xCBF43926 = 3421780262 -> base62
    let n = 0xcbf43926;
    let expected = '';
    while (n > 0) {
      expected = BASE62_ALPHABET[n % 62] + expected;
      n = Math.floor(n / 62);
    }
    expect(checksumOf('123456789')).toBe(expected.padStart(6, '0'));
  });
});

describe('parseSecret', () => {
  test.each(ALL_ENVS)('accepts a freshly generated %s secret and reports its env and body', (env) => {
    const secret = generateSecret(env);
    const parsed = parseSecret(secret);
    expect(parsed).toEqual({ env, body: split(secret).body });
  });

  test.each(ALL_ENVS)('rejects a %s secret whose last character was changed', (env) => {
    const secret = generateSecret(env);
    expect(parseSecret(changeCharAt(secret, secret.length - 1))).toBeNull();
  });

  test.each(ALL_ENVS)('rejects a %s secret with any single checksum character changed', (env) => {
    const secret = generateSecret(env);
    for (let i = secret.length - 6; i < secret.length; i++) {
      expect(parseSecret(changeCharAt(secret, i))).toBeNull();
    }
  });

  test.each(ALL_ENVS)('rejects a %s secret with any single body character changed', (env) => {
    const secret = generateSecret(env);
    const { prefix, body } = split(secret);
    for (let i = prefix.length; i < prefix.length + body.length; i++) {
      expect(parseSecret(changeCharAt(secret, i))).toBeNull();
    }
  });

  test('rejects a secret whose body was swapped with another secret’s body', () => {
    const a = split(generateSecret('dev'));
    const b = split(generateSecret('dev'));
    expect(parseSecret(a.prefix + b.body + a.checksum)).toBeNull();
  });

  test('rejects a dev secret relabelled as prod (the env is covered by the checksum)', () => {
    const { body, checksum } = split(generateSecret('dev'));
    expect(parseSecret(`ak_prod_${body}${checksum}`)).toBeNull();
  });

  const body43 = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v';

  test.each([
    ['another vendor prefix', `sk_dev_${body43}`],
    ['upper-case prefix', `AK_dev_${body43}`],
    ['dash instead of underscore', `ak-dev_${body43}`],
    ['missing underscore after env', `ak_dev${body43}`],
    ['no prefix at all', body43],
    ['upper-case env', `ak_DEV_${body43}`],
  ])('rejects a wrong prefix (%s) even when the checksum matches', (_label, head) => {
    expect(parseSecret(withValidChecksum(head))).toBeNull();
  });

  test.each(['test', 'live', 'staging', 'prd', 'de', 'rootx', ''])('rejects unknown env "%s" even when the checksum matches', (env) => {
    expect(parseSecret(withValidChecksum(`ak_${env}_${body43}`))).toBeNull();
  });

  test('a hand-built secret with a valid checksum is accepted (sanity check of the helper)', () => {
    expect(parseSecret(withValidChecksum(`ak_dev_${body43}`))).toEqual({ env: 'dev', body: body43 });
  });

  test.each([
    ['a body of 200 chars', 200],
    ['a body of 115 chars (128 chars in total)', 115],
    ['a body of 75 chars (body + checksum > 80)', 75],
  ])('rejects too long input: %s, even with a matching checksum', (_label, n) => {
    const head = `ak_dev_${'a'.repeat(n)}`;
    expect(parseSecret(withValidChecksum(head))).toBeNull();
  });

  test('rejects a very long string without hanging', () => {
    const started = Date.now();
    expect(parseSecret(`ak_dev_${'a'.repeat(1_000_000)}`)).toBeNull();
    expect(Date.now() - started).toBeLessThan(500);
  });

  test('rejects a body that is too short even with a matching checksum', () => {
    expect(parseSecret(withValidChecksum('ak_dev_abc'))).toBeNull();
  });

  test.each([
    ['leading space', (s: string) => ` ${s}`],
    ['trailing space', (s: string) => `${s} `],
    ['trailing newline', (s: string) => `${s}\n`],
    ['embedded in text', (s: string) => `key=${s}`],
    ['non-base62 char in the body', (s: string) => s.slice(0, 10) + '-' + s.slice(11)],
    ['truncated by one char', (s: string) => s.slice(0, -1)],
    ['one extra char', (s: string) => `${s}a`],
  ])('rejects a secret with %s', (_label, mutate) => {
    expect(parseSecret(mutate(generateSecret('prod')))).toBeNull();
  });

  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a boolean', true],
    ['an object', { key: 'ak_dev_x' }],
    ['an array holding a secret', [generateSecret('dev')]],
    ['a Buffer of a secret', Buffer.from(generateSecret('dev'))],
    // eslint-disable-next-line no-new-wrappers
    ['a String object of a secret', new String(generateSecret('dev'))],
    ['the empty string', ''],
  ])('rejects a non-secret value: %s', (_label, value) => {
    expect(parseSecret(value)).toBeNull();
  });
});

describe('startOf', () => {
  test.each(ALL_ENVS)('is the %s prefix plus the first 4 body characters', (env) => {
    const secret = generateSecret(env);
    const { prefix, body } = split(secret);
    expect(startOf(secret)).toBe(prefix + body.slice(0, 4));
    expect(startOf(secret)).toHaveLength(`ak_${env}_`.length + 4);
  });

  test('throws for something that is not a Keywarden secret', () => {
    expect(() => startOf('hello world')).toThrow();
  });
});

describe('digestSecret', () => {
  test('is 64 lower-case hex characters and differs from the secret', () => {
    const secret = generateSecret('prod');
    const digest = digestSecret(secret);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).not.toBe(secret);
    expect(digest).not.toContain(split(secret).body);
  });

  test('is SHA-256 (known vector for "abc")', () => {
    expect(digestSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('is deterministic and matches SHA-256 of the UTF-8 secret', () => {
    const secret = generateSecret('int');
    expect(digestSecret(secret)).toBe(digestSecret(secret));
    expect(digestSecret(secret)).toBe(crypto.createHash('sha256').update(Buffer.from(secret, 'utf8')).digest('hex'));
  });

  test('secrets differing in one character have different digests', () => {
    const secret = generateSecret('dev');
    expect(digestSecret(secret)).not.toBe(digestSecret(changeCharAt(secret, 10)));
  });
});

describe('maskSecret', () => {
  test.each(ALL_ENVS)('a masked %s secret starts with its start and never contains the full secret', (env) => {
    const secret = generateSecret(env);
    const masked = maskSecret(secret);
    expect(masked.startsWith(startOf(secret))).toBe(true);
    expect(masked).not.toContain(secret);
    const { body, checksum } = split(secret);
    // Nothing beyond the 4 shown body characters leaks: no 5-char run of the rest of the body.
    const hidden = body.slice(4) + checksum;
    for (let i = 0; i + 5 <= hidden.length; i++) expect(masked).not.toContain(hidden.slice(i, i + 5));
    expect(masked.length).toBeLessThan(secret.length);
  });

  test.each(['hello', '', 'ak_dev_short', 'Bearer xyz'])('a non-secret %j is masked as *** without echoing it', (text) => {
    expect(maskSecret(text)).toBe('***');
  });
});
