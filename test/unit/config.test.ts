import crypto from 'node:crypto';
import path from 'node:path';
import { ConfigError, loadConfig, refusePlainHttpInProduction } from '../../src/config';

/** The ConfigError loadConfig throws for `env` (fails the test when it throws nothing or something else). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`);
  }
  throw new Error('expected a ConfigError, but loadConfig accepted the environment');
}

const key32 = () => crypto.randomBytes(32).toString('base64');

describe('loadConfig defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.resolve('./.keywarden'),
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'kw',
      encryptionKey: undefined,
      bootstrap: true,
      webhookAllowPrivateNetworks: false,
      webhookRetrySchedule: [5, 300, 1800, 7200, 18000, 36000, 36000],
      webhookTimeoutMs: 15000,
      expiryWarningDays: [14, 7, 1],
      scanIntervalSeconds: 300,
      trustProxy: false,
      logLevel: 'info',
      graphqlMaxDepth: 12,
      graphqlMaxComplexity: 5000,
      bulkOperationThreshold: 10,
    });
  });

  test('empty strings fall back to the defaults', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', REDIS_URL: '', WEBHOOK_RETRY_SCHEDULE: '', TRUST_PROXY: '', EXPIRY_WARNING_DAYS: ' ' });
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.webhookRetrySchedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(config.trustProxy).toBe(false);
    expect(config.expiryWarningDays).toEqual([14, 7, 1]);
  });

  test('it reads the environment it is given, not process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = 'not-a-port';
    try {
      expect(loadConfig({ PORT: '5000' }).port).toBe(5000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('loadConfig reads valid values', () => {
  test.each<[string, NodeJS.ProcessEnv, Partial<ReturnType<typeof loadConfig>>]>([
    ['PORT', { PORT: '8080' }, { port: 8080 }],
    ['PORT 0 (any free port)', { PORT: '0' }, { port: 0 }],
    ['PORT 65535', { PORT: '65535' }, { port: 65535 }],
    ['HOST', { HOST: '0.0.0.0' }, { host: '0.0.0.0' }],
    ['a postgresql:// DATABASE_URL', { DATABASE_URL: 'postgresql://u:p@db:5432/kw' }, { databaseUrl: 'postgresql://u:p@db:5432/kw' }],
    ['a postgres:// DATABASE_URL', { DATABASE_URL: 'postgres://db/kw' }, { databaseUrl: 'postgres://db/kw' }],
    ['a rediss:// REDIS_URL', { REDIS_URL: 'rediss://cache:6380/1' }, { redisUrl: 'rediss://cache:6380/1' }],
    ['KEYWARDEN_REDIS_PREFIX with allowed punctuation', { KEYWARDEN_REDIS_PREFIX: 'kw:prod-eu_1.a' }, { redisPrefix: 'kw:prod-eu_1.a' }],
    ['WEBHOOK_RETRY_SCHEDULE with spaces', { WEBHOOK_RETRY_SCHEDULE: '1, 2,3' }, { webhookRetrySchedule: [1, 2, 3] }],
    ['EXPIRY_WARNING_DAYS', { EXPIRY_WARNING_DAYS: '30,7' }, { expiryWarningDays: [30, 7] }],
    ['TRUST_PROXY=true', { TRUST_PROXY: 'true' }, { trustProxy: true }],
    ['TRUST_PROXY=YES', { TRUST_PROXY: 'YES' }, { trustProxy: true }],
    ['TRUST_PROXY=off', { TRUST_PROXY: 'off' }, { trustProxy: false }],
    ['TRUST_PROXY=1 (one proxy hop)', { TRUST_PROXY: '1' }, { trustProxy: 1 }],
    ['TRUST_PROXY=2 (two proxy hops)', { TRUST_PROXY: ' 2 ' }, { trustProxy: 2 }],
    ['TRUST_PROXY=0 (no hop trusted)', { TRUST_PROXY: '0' }, { trustProxy: 0 }],
    ['TRUST_PROXY as one address', { TRUST_PROXY: '10.0.0.5' }, { trustProxy: ['10.0.0.5'] }],
    ['TRUST_PROXY as addresses and CIDR ranges', { TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,2001:db8::/32' }, { trustProxy: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'] }],
    ['TRUST_PROXY with a named range', { TRUST_PROXY: 'loopback,10.1.0.0/16' }, { trustProxy: ['loopback', '10.1.0.0/16'] }],
    ['KEYWARDEN_BOOTSTRAP=false', { KEYWARDEN_BOOTSTRAP: 'false' }, { bootstrap: false }],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, { webhookAllowPrivateNetworks: true }],
    ['WEBHOOK_TIMEOUT_MS', { WEBHOOK_TIMEOUT_MS: '2500' }, { webhookTimeoutMs: 2500 }],
    ['SCAN_INTERVAL_SECONDS', { SCAN_INTERVAL_SECONDS: '60' }, { scanIntervalSeconds: 60 }],
    ['LOG_LEVEL', { LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['BULK_OPERATION_THRESHOLD', { BULK_OPERATION_THRESHOLD: '25' }, { bulkOperationThreshold: 25 }],
    ['ADMIN_QUEUES_TOKEN and ADMIN_QUEUES_WRITE', { ADMIN_QUEUES_TOKEN: 'q'.repeat(24), ADMIN_QUEUES_WRITE: 'true' }, { adminQueues: { token: 'q'.repeat(24), writable: true } }],
    ['no ADMIN_QUEUES_TOKEN: closed, read-only', {}, { adminQueues: { token: undefined, writable: false } }],
    ['UPSTREAM_ALLOW_PRIVATE_NETWORKS=true', { UPSTREAM_ALLOW_PRIVATE_NETWORKS: 'true' }, { upstreamAllowPrivateNetworks: true }],
  ])('%s', (_label, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  test('KEYWARDEN_ENCRYPTION_KEY of 32 base64 bytes is decoded', () => {
    const raw = crypto.randomBytes(32);
    const config = loadConfig({ KEYWARDEN_ENCRYPTION_KEY: raw.toString('base64') });
    expect(config.encryptionKey).toEqual(raw);
  });

  test('NODE_ENV=production with a KEYWARDEN_ENCRYPTION_KEY is accepted', () => {
    const config = loadConfig({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32() });
    expect(config.nodeEnv).toBe('production');
    expect(config.encryptionKey).toHaveLength(32);
  });

  test('GRAPHQL_INTROSPECTION is on by default, off by default in production, and settable either way', () => {
    expect(loadConfig({}).graphqlIntrospection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32() }).graphqlIntrospection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32(), GRAPHQL_INTROSPECTION: 'true' }).graphqlIntrospection).toBe(true);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'false' }).graphqlIntrospection).toBe(false);
    expect(configError({ GRAPHQL_INTROSPECTION: 'maybe' }).message).toContain('GRAPHQL_INTROSPECTION');
  });

  test('the admin API settings are read', () => {
    const config = loadConfig({ GRAPHQL_MAX_DEPTH: '7', GRAPHQL_MAX_COMPLEXITY: '900', GRAPHQL_RATE_LIMIT: '0', GRAPHQL_MAX_CONCURRENT: '3' });
    expect([config.graphqlMaxDepth, config.graphqlMaxComplexity, config.graphqlRateLimit, config.graphqlMaxConcurrent]).toEqual([7, 900, 0, 3]);
    expect(configError({ GRAPHQL_MAX_CONCURRENT: '0' }).message).toContain('GRAPHQL_MAX_CONCURRENT');
  });
});

describe('loadConfig rejects invalid variables with a ConfigError naming the variable', () => {
  test.each<[string, NodeJS.ProcessEnv]>([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['REDIS_URL', { REDIS_URL: 'http://x' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['KEYWARDEN_REDIS_PREFIX', { KEYWARDEN_REDIS_PREFIX: 'my prefix' }],
    ['KEYWARDEN_REDIS_PREFIX', { KEYWARDEN_REDIS_PREFIX: ' kw' }],
    ['KEYWARDEN_REDIS_PREFIX', { KEYWARDEN_REDIS_PREFIX: 'kw{tag}' }],
    ['KEYWARDEN_REDIS_PREFIX', { KEYWARDEN_REDIS_PREFIX: 'x'.repeat(65) }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: '1,,2' }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: '5,' }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: 'a,b' }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: '5,-1' }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: '1.5' }],
    ['EXPIRY_WARNING_DAYS', { EXPIRY_WARNING_DAYS: '14;7' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'maybe' }],
    ['ADMIN_QUEUES_TOKEN', { ADMIN_QUEUES_TOKEN: 'short' }],
    ['ADMIN_QUEUES_WRITE', { ADMIN_QUEUES_WRITE: 'perhaps' }],
    ['UPSTREAM_ALLOW_PRIVATE_NETWORKS', { UPSTREAM_ALLOW_PRIVATE_NETWORKS: 'maybe' }],
    ['TRUST_PROXY', { TRUST_PROXY: '-1' }],
    ['TRUST_PROXY', { TRUST_PROXY: '1.5' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/33' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.1,' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.1,proxy.internal' }],
    ['TRUST_PROXY', { TRUST_PROXY: '10.0.0.1,2' }],
    ['TRUST_PROXY', { TRUST_PROXY: '300.1.2.3' }],
    ['KEYWARDEN_BOOTSTRAP', { KEYWARDEN_BOOTSTRAP: 'sometimes' }],
    ['WEBHOOK_ALLOW_PRIVATE_NETWORKS', { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '2' }],
    ['WEBHOOK_TIMEOUT_MS', { WEBHOOK_TIMEOUT_MS: '50' }],
    ['SCAN_INTERVAL_SECONDS', { SCAN_INTERVAL_SECONDS: '0' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['RATE_LIMIT_FAILURE_MODE', { RATE_LIMIT_FAILURE_MODE: 'sometimes' }],
    ['BRUTE_FORCE_MAX_FAILURES', { BRUTE_FORCE_MAX_FAILURES: '0' }],
    ['BULK_OPERATION_THRESHOLD', { BULK_OPERATION_THRESHOLD: '0' }],
    ['BULK_OPERATION_THRESHOLD', { BULK_OPERATION_THRESHOLD: 'ten' }],
    ['KEYWARDEN_ENCRYPTION_KEY', { KEYWARDEN_ENCRYPTION_KEY: crypto.randomBytes(16).toString('base64') }],
    ['KEYWARDEN_ENCRYPTION_KEY', { KEYWARDEN_ENCRYPTION_KEY: crypto.randomBytes(31).toString('base64') }],
    ['KEYWARDEN_ENCRYPTION_KEY', { KEYWARDEN_ENCRYPTION_KEY: crypto.randomBytes(33).toString('base64') }],
    ['KEYWARDEN_ENCRYPTION_KEY', { KEYWARDEN_ENCRYPTION_KEY: 'not-base64-at-all!!' }],
    ['KEYWARDEN_ENCRYPTION_KEY', { NODE_ENV: 'production' }],
    ['KEYWARDEN_ENCRYPTION_KEY', { NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: '' }],
  ])('%s: %j', (variable, env) => {
    const err = configError(env);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(variable);
  });

  test('the message names only the variable at fault', () => {
    const err = configError({ PORT: 'abc' });
    for (const other of ['DATABASE_URL', 'REDIS_URL', 'TRUST_PROXY', 'KEYWARDEN_ENCRYPTION_KEY']) expect(err.message).not.toContain(other);
  });

  test('several bad variables are all named in one error', () => {
    const err = configError({ PORT: 'abc', TRUST_PROXY: 'maybe', REDIS_URL: 'http://x' });
    expect(err.message).toContain('PORT');
    expect(err.message).toContain('TRUST_PROXY');
    expect(err.message).toContain('REDIS_URL');
  });

  test('the message does not echo a database password', () => {
    const err = configError({ DATABASE_URL: 'mysql://admin:hunter2secret@db/kw' });
    expect(err.message).toContain('DATABASE_URL');
    expect(err.message).not.toContain('hunter2secret');
  });
});

describe('TLS_CERT_FILE / TLS_KEY_FILE and the production refusal of plain HTTP', () => {
  const production = () => ({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32() });
  /** The API's start-up checks: the configuration, then the plain-HTTP refusal. */
  const apiConfig = (env: NodeJS.ProcessEnv) => {
    const config = loadConfig(env);
    refusePlainHttpInProduction(config, env);
    return config;
  };
  const apiConfigError = (env: NodeJS.ProcessEnv): Error => {
    try {
      apiConfig(env);
    } catch (e) {
      if (e instanceof ConfigError) return e;
    }
    throw new Error('expected a ConfigError');
  };

  test('both files are read as absolute paths; neither means plain HTTP', () => {
    expect(loadConfig({}).tls).toBeUndefined();
    expect(loadConfig({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: '/k.pem' }).tls).toEqual({ certFile: path.resolve('c.pem'), keyFile: '/k.pem' });
  });

  test.each([
    [{ TLS_CERT_FILE: '/c.pem' }, 'TLS_KEY_FILE'],
    [{ TLS_KEY_FILE: '/k.pem' }, 'TLS_CERT_FILE'],
  ])('one without the other names the missing one: %j', (env, missing) => {
    expect(configError(env).message).toContain(`${missing} must be set too`);
  });

  test.each(['0.0.0.0', '::', '10.1.2.3', 'keywarden.example.com'])('HOST=%s in production without TLS or TRUST_PROXY is refused, naming both', (host) => {
    const err = apiConfigError({ ...production(), HOST: host });
    expect(err.message).toContain(`HOST=${host}`);
    expect(err.message).toContain('TLS_CERT_FILE');
    expect(err.message).toContain('TRUST_PROXY');
  });

  test.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])('a loopback HOST=%s is allowed on plain HTTP in production', (host) => {
    expect(apiConfig({ ...production(), HOST: host }).host).toBe(host);
  });

  test.each<[string, NodeJS.ProcessEnv]>([
    ['TLS', { TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' }],
    ['TRUST_PROXY=true', { TRUST_PROXY: 'true' }],
  ])('with %s a non-loopback HOST starts in production', (_label, env) => {
    expect(apiConfig({ ...production(), HOST: '0.0.0.0', ...env }).host).toBe('0.0.0.0');
  });

  test('TRUST_PROXY=false does not count as a proxy', () => {
    expect(apiConfigError({ ...production(), HOST: '0.0.0.0', TRUST_PROXY: 'false' }).message).toContain('HOST=0.0.0.0');
  });

  test('outside production a non-loopback HOST may serve plain HTTP', () => {
    expect(apiConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });
});

describe('SHUTDOWN_DRAIN_SECONDS', () => {
  test('defaults to 5 s in production and 0 elsewhere; a value is taken as given', () => {
    expect(loadConfig({}).shutdownDrainMs).toBe(0);
    expect(loadConfig({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32() }).shutdownDrainMs).toBe(5000);
    expect(loadConfig({ NODE_ENV: 'production', KEYWARDEN_ENCRYPTION_KEY: key32(), SHUTDOWN_DRAIN_SECONDS: '0' }).shutdownDrainMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_DRAIN_SECONDS: '12' }).shutdownDrainMs).toBe(12000);
  });

  test.each(['-1', '301', 'soon'])('%s is refused, naming the variable', (v) => {
    expect(configError({ SHUTDOWN_DRAIN_SECONDS: v }).message).toContain('SHUTDOWN_DRAIN_SECONDS');
  });
});

describe('REDIS_CLUSTER_NODES and REDIS_SENTINELS / REDIS_SENTINEL_NAME', () => {
  test('REDIS_URL alone is one node', () => {
    expect(loadConfig({}).redis).toEqual({ kind: 'url', url: 'redis://127.0.0.1:6379' });
  });

  test('cluster seed nodes, IPv6 in brackets; an explicit REDIS_URL lends its password', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002' }).redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'redis-a', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      url: undefined,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://:pw@x:6379' }).redis).toMatchObject({ kind: 'cluster', url: 'redis://:pw@x:6379' });
  });

  test('sentinels with the master name', () => {
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster' }).redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      url: undefined,
    });
  });

  test.each<[string, NodeJS.ProcessEnv]>([
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'redis-a' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:7000,,b:7001' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'a:70000' }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm' }],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 's1:26379' }],
    ['REDIS_SENTINELS', { REDIS_SENTINEL_NAME: 'm' }],
    ['REDIS_CLUSTER_NODES and REDIS_SENTINELS', { REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 's:2', REDIS_SENTINEL_NAME: 'm' }],
  ])('%s is named: %j', (variable, env) => {
    expect(configError(env).message).toContain(variable);
  });
});

describe('DATABASE_REPLICA_URLS', () => {
  const primary = 'postgresql://kw@db-primary:5432/kw';

  test('unset: no replicas', () => {
    expect(loadConfig({ DATABASE_URL: primary }).databaseReplicaUrls).toEqual([]);
  });

  test('comma-separated PostgreSQL URLs, spaces trimmed', () => {
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: 'postgresql://kw@replica-1/kw, postgres://kw:pw@replica-2:5433/kw' }).databaseReplicaUrls).toEqual([
      'postgresql://kw@replica-1/kw',
      'postgres://kw:pw@replica-2:5433/kw',
    ]);
  });

  test.each([
    ['not a URL', 'replica-1:5432'],
    ['another scheme', 'mysql://kw@replica-1/kw'],
    ['an empty entry', 'postgresql://kw@replica-1/kw,,postgresql://kw@replica-2/kw'],
    ['no host', 'postgresql:///kw'],
  ])('%s is refused on one line naming the variable, without echoing the value', (_what, value) => {
    const message = configError({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: `${value},postgresql://kw:s3cret@replica-9/kw` }).message;
    const lines = message.split('\n').slice(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\s*DATABASE_REPLICA_URLS: /);
    expect(message).not.toContain('s3cret');
  });

  test('without DATABASE_URL (the embedded store) it is refused, naming both', () => {
    const message = configError({ DATABASE_REPLICA_URLS: 'postgresql://kw@replica-1/kw' }).message;
    expect(message).toContain('DATABASE_REPLICA_URLS');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('embedded');
  });
});
