import crypto from 'node:crypto';
import type { DestinationStream, Logger } from 'pino';
import { createLogger, maskSecrets } from '../../src/infra/logger';
import { generateSecret, type SecretEnv } from '../../src/keys/secret';

function capture(level = 'trace'): { log: Logger; output: () => string; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const destination: DestinationStream = { write: (s: string) => void written.push(s) };
  const log = createLogger(level, destination);
  return {
    log,
    output: () => written.join(''),
    lines: () => written.map((l) => JSON.parse(l)),
  };
}

const webhookSecret = () => `whsec_${crypto.randomBytes(32).toString('base64')}`;
const ENVS: SecretEnv[] = ['dev', 'prod', 'int', 'emg', 'root'];

/** The output holds neither the secret nor its body, and holds the masked form. */
function expectMasked(output: string, secret: string, masked: string = maskSecrets(secret)) {
  expect(output.length).toBeGreaterThan(0);
  expect(output).not.toContain(secret);
  const body = secret.replace(/^(ak_[a-z]+_|whsec_)/, '');
  expect(output).not.toContain(body.slice(0, 16));
  expect(output).toContain(masked);
}

describe('createLogger never writes a Keywarden secret', () => {
  test.each(ENVS)('in the message (%s secret)', (env) => {
    const secret = generateSecret(env);
    const { log, output } = capture();
    log.info(`verifying ${secret} now`);
    expectMasked(output(), secret);
  });

  test('in the message with an object first', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.info({ keyId: 'k1' }, `created key ${secret}`);
    expectMasked(output(), secret);
  });

  test('in a printf-style argument', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.warn('presented key %s from %s', secret, '203.0.113.7');
    expectMasked(output(), secret);
  });

  test('in a top-level field', () => {
    const secret = generateSecret('dev');
    const { log, output } = capture();
    log.info({ key: secret }, 'verify');
    expectMasked(output(), secret);
  });

  test('in a nested field', () => {
    const secret = generateSecret('int');
    const { log, output } = capture();
    log.info({ request: { body: { key: secret, agentId: 'a1' } } }, 'verify request');
    expectMasked(output(), secret);
    expect(output()).toContain('a1');
  });

  test('in an array field', () => {
    const secret = generateSecret('emg');
    const { log, output } = capture();
    log.info({ leaked: { keys: ['x', secret] } }, 'leak report');
    expectMasked(output(), secret);
  });

  test('in a field ten levels deep', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.info({ a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { key: secret } } } } } } } } } } }, 'deep');
    expectMasked(output(), secret);
  });

  test('in a field named secret', () => {
    const secret = generateSecret('root');
    const { log, output } = capture();
    log.info({ secret }, 'bootstrap');
    expect(output()).not.toContain(secret);
    expect(output()).toContain('[REDACTED]');
  });

  test('in an Error message logged under err with a message', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.error({ err: new Error(`could not verify ${secret}`) }, 'request failed');
    expectMasked(output(), secret);
  });

  test('in an Error message logged as the only argument', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.error(new Error(`could not verify ${secret}`));
    expectMasked(output(), secret);
  });

  test('in an Error message logged under err without a message', () => {
    const secret = generateSecret('dev');
    const { log, output } = capture();
    log.error({ err: new Error(`bad key ${secret}`) });
    expectMasked(output(), secret);
  });

  test('in an Error nested in a field', () => {
    const secret = generateSecret('int');
    const { log, output } = capture();
    log.warn({ context: { cause: new Error(`rejected ${secret}`) } }, 'nested error');
    expectMasked(output(), secret);
  });

  test('in the bindings of a child logger', () => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.child({ presentedKey: secret }).info('child line');
    expectMasked(output(), secret);
  });

  test.each<[string, (s: string) => object]>([
    ['a top-level authorization field', (s) => ({ authorization: `Bearer ${s}` })],
    ['headers.authorization', (s) => ({ headers: { authorization: `Bearer ${s}` } })],
    ['req.headers.authorization', (s) => ({ req: { headers: { authorization: `Bearer ${s}`, 'user-agent': 'curl' } } })],
    ['a capitalised Authorization header', (s) => ({ headers: { Authorization: `Bearer ${s}` } })],
    ['an authorization field inside another object', (s) => ({ upstream: { authorization: s } })],
  ])('in %s', (_label, make) => {
    const secret = generateSecret('prod');
    const { log, output } = capture();
    log.info(make(secret), 'incoming request');
    expect(output()).not.toContain(secret);
    expect(output()).toContain('[REDACTED]');
  });

  test('an authorization header is dropped entirely, not only the secret in it', () => {
    const { log, lines } = capture();
    log.info({ req: { headers: { authorization: 'Basic dXNlcjpwYXNz' } } }, 'incoming request');
    expect(JSON.stringify(lines())).not.toContain('dXNlcjpwYXNz');
  });

  test('a look-alike with a wrong checksum is masked too (shape is enough)', () => {
    const secret = generateSecret('dev');
    const lookAlike = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    const { log, output } = capture();
    log.info(`saw ${lookAlike}`);
    expect(output()).not.toContain(lookAlike);
  });

  test('lines stay valid JSON with the usual fields', () => {
    const secret = generateSecret('dev');
    const { log, lines } = capture();
    log.info({ key: secret, count: 3 }, 'hello');
    const [line] = lines();
    expect(line).toMatchObject({ level: 30, service: 'keywarden', msg: 'hello', count: 3, key: maskSecrets(secret) });
  });

  test('an Error logged under err keeps its type name', () => {
    const { log, lines } = capture();
    log.error({ err: new TypeError('boom') }, 'failed');
    expect(lines()[0]).toMatchObject({ err: { type: 'TypeError', message: 'boom' } });
  });

  test('a line below the logger level is not written', () => {
    const { log, output } = capture('warn');
    log.info(`quiet ${generateSecret('dev')}`);
    expect(output()).toBe('');
  });
});

describe('createLogger never writes a webhook secret', () => {
  test('in the message', () => {
    const secret = webhookSecret();
    const { log, output } = capture();
    log.info(`endpoint secret is ${secret}`);
    expectMasked(output(), secret, 'whsec_[REDACTED]');
  });

  test('in a nested field', () => {
    const secret = webhookSecret();
    const { log, output } = capture();
    log.info({ endpoint: { id: 'e1', signingKey: secret } }, 'endpoint created');
    expectMasked(output(), secret, 'whsec_[REDACTED]');
  });

  test('in an Error message', () => {
    const secret = webhookSecret();
    const { log, output } = capture();
    log.error({ err: new Error(`signing with ${secret} failed`) }, 'delivery failed');
    expectMasked(output(), secret, 'whsec_[REDACTED]');
  });
});

describe('maskSecrets', () => {
  test.each(ENVS)('masks a %s secret as ak_<env>_[REDACTED]', (env) => {
    const secret = generateSecret(env);
    expect(maskSecrets(`key=${secret}`)).toBe(`key=ak_${env}_[REDACTED]`);
  });

  test('masks every secret of a line, of both kinds', () => {
    const a = generateSecret('dev');
    const b = generateSecret('prod');
    const w = webhookSecret();
    const text = `first ${a}, second "${b}" and ${w}.`;
    expect(maskSecrets(text)).toBe('first ak_dev_[REDACTED], second "ak_prod_[REDACTED]" and whsec_[REDACTED].');
  });

  test('masks a secret at the very start and end of the text', () => {
    const secret = generateSecret('int');
    expect(maskSecrets(secret)).toBe('ak_int_[REDACTED]');
    expect(maskSecrets(`Bearer ${secret}`)).toBe('Bearer ak_int_[REDACTED]');
  });

  test('masks a secret inside JSON text', () => {
    const secret = generateSecret('emg');
    const json = JSON.stringify({ key: secret });
    expect(maskSecrets(json)).toBe('{"key":"ak_emg_[REDACTED]"}');
  });

  test.each(['nothing secret here', 'ak_dev_ is only a prefix', 'the ak_test_1234567890abcdef env is not ours', 'whsec_ alone', 'keyId=5b0e8a4e-6d1c-4a57-9f0e-0c4b8f0d1a2b', ''])('leaves %j unchanged', (text) => {
    expect(maskSecrets(text)).toBe(text);
  });
});
