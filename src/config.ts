import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isLoopbackHost } from './infra/ip';
import { bool, int, intList, type Role, roleMap, trustProxy, url, hostPorts } from './infra/config-fields';
import { writingDataDir } from './infra/data-dir';
import type { RedisTarget } from './infra/redis';

// Every environment variable Keywarden reads, parsed and validated once.
// A bad value stops start-up with a message naming the variable.

const envSchema = z.object({
  NODE_ENV: z.string().optional().default('development'),
  PORT: int('PORT', 4000, 0, 65535),
  HOST: z.string().optional().default('127.0.0.1'),
  DATABASE_URL: url('DATABASE_URL', ['postgresql:', 'postgres:']),
  KEYWARDEN_DATA_DIR: z.string().optional().default('./.keywarden'),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']).transform((v) => v ?? 'redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: hostPorts('REDIS_CLUSTER_NODES'),
  REDIS_SENTINELS: hostPorts('REDIS_SENTINELS'),
  REDIS_SENTINEL_NAME: z.string().optional(),
  KEYWARDEN_REDIS_PREFIX: z
    .string()
    .optional()
    .default('kw')
    .refine((v) => /^[A-Za-z0-9_.:-]{1,64}$/.test(v), 'KEYWARDEN_REDIS_PREFIX must be 1-64 characters of letters, digits, _ . : -'),
  KEYWARDEN_ENCRYPTION_KEY: z.string().optional(),
  KEYWARDEN_BOOTSTRAP: bool('KEYWARDEN_BOOTSTRAP', true),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
  UPSTREAM_ALLOW_PRIVATE_NETWORKS: bool('UPSTREAM_ALLOW_PRIVATE_NETWORKS', false),
  WEBHOOK_RETRY_SCHEDULE: intList('WEBHOOK_RETRY_SCHEDULE', '5,300,1800,7200,18000,36000,36000'),
  WEBHOOK_TIMEOUT_MS: int('WEBHOOK_TIMEOUT_MS', 15000, 100, 600000),
  EXPIRY_WARNING_DAYS: intList('EXPIRY_WARNING_DAYS', '14,7,1'),
  SCAN_INTERVAL_SECONDS: int('SCAN_INTERVAL_SECONDS', 300, 1, 86400),
  WEBHOOK_CONCURRENCY: int('WEBHOOK_CONCURRENCY', 50, 1, 1000),
  JOB_LOCK_SECONDS: int('JOB_LOCK_SECONDS', 30, 1, 3600),
  TRUST_PROXY: trustProxy,
  RATE_LIMIT_MODE: z.enum(['exact', 'leased'], { message: 'RATE_LIMIT_MODE must be exact or leased' }).optional().default('exact'),
  RATE_LIMIT_FAILURE_MODE: z.enum(['open', 'closed'], { message: 'RATE_LIMIT_FAILURE_MODE must be open or closed' }).optional().default('open'),
  BRUTE_FORCE_MAX_FAILURES: int('BRUTE_FORCE_MAX_FAILURES', 20, 1, 1_000_000),
  BRUTE_FORCE_WINDOW_SECONDS: int('BRUTE_FORCE_WINDOW_SECONDS', 60, 1, 86_400),
  BRUTE_FORCE_BLOCK_SECONDS: int('BRUTE_FORCE_BLOCK_SECONDS', 300, 1, 86_400),
  METRICS_TOKEN: z.string().optional(),
  ADMIN_QUEUES_TOKEN: z
    .string()
    .optional()
    .refine((v) => !v || v.length >= 24, 'ADMIN_QUEUES_TOKEN must be at least 24 characters (e.g. openssl rand -base64 32)'),
  ADMIN_QUEUES_WRITE: bool('ADMIN_QUEUES_WRITE', false),
  METRICS_PORT: int('METRICS_PORT', 0, 0, 65535),
  EXT_AUTHZ_PORT: int('EXT_AUTHZ_PORT', 0, 0, 65535),
  ALERT_WINDOW_SECONDS: int('ALERT_WINDOW_SECONDS', 60, 1, 86_400),
  RATE_LIMIT_VIOLATION_THRESHOLD: int('RATE_LIMIT_VIOLATION_THRESHOLD', 10, 1, 1_000_000),
  FAILED_AUTH_BURST_THRESHOLD: int('FAILED_AUTH_BURST_THRESHOLD', 10, 1, 1_000_000),
  USAGE_ANOMALY_FACTOR: int('USAGE_ANOMALY_FACTOR', 10, 2, 1_000_000),
  USAGE_ANOMALY_MIN_REQUESTS: int('USAGE_ANOMALY_MIN_REQUESTS', 100, 1, 1_000_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  GRAPHQL_MAX_DEPTH: int('GRAPHQL_MAX_DEPTH', 12, 1, 100),
  GRAPHQL_MAX_COMPLEXITY: int('GRAPHQL_MAX_COMPLEXITY', 5000, 1, 1000000),
  GRAPHQL_INTROSPECTION: z.string().optional(),
  HTTP_REQUEST_TIMEOUT_MS: int('HTTP_REQUEST_TIMEOUT_MS', 60_000, 1_000, 3_600_000),
  HTTP_HEADERS_TIMEOUT_MS: int('HTTP_HEADERS_TIMEOUT_MS', 20_000, 1_000, 600_000),
  HTTP_MAX_CONNECTIONS: int('HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
  GRAPHQL_RATE_LIMIT: int('GRAPHQL_RATE_LIMIT', 600, 0, 1_000_000),
  GRAPHQL_MAX_CONCURRENT: int('GRAPHQL_MAX_CONCURRENT', 8, 1, 10_000),
  BULK_OPERATION_THRESHOLD: int('BULK_OPERATION_THRESHOLD', 10, 1, 1_000_000),
  KEYWARDEN_PUBLIC_URL: url('KEYWARDEN_PUBLIC_URL', ['http:', 'https:']),
  OIDC_ISSUER: url('OIDC_ISSUER', ['https:', 'http:']),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_SCOPES: z.string().optional(),
  OIDC_ROLE_CLAIM: z.string().optional(),
  OIDC_ROLE_MAP: roleMap,
  OIDC_ACCOUNT: z.string().optional(),
  SESSION_IDLE_MINUTES: int('SESSION_IDLE_MINUTES', 60, 1, 10_080),
  SESSION_MAX_HOURS: int('SESSION_MAX_HOURS', 12, 1, 720),
  DASHBOARD_KEY_SIGNIN: z.string().optional(),
  SUBSCRIPTIONS_PER_KEY: int('SUBSCRIPTIONS_PER_KEY', 10, 1, 10_000),
  // -1: unset (5 s in production, 0 elsewhere).
  SHUTDOWN_DRAIN_SECONDS: int('SHUTDOWN_DRAIN_SECONDS', -1, 0, 300),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
});

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined; // absent: a public client (PKCE only)
  scopes: string;
  roleClaim: string | undefined;
  roleMap: Record<string, Role>;
  account: string;
}

export interface PeopleConfig {
  /** Where people and the identity provider reach Keywarden; its origin is the only one cookie-authenticated requests may come from. */
  publicUrl: string;
  sessions: { idleMinutes: number; maxHours: number };
  oidc: OidcConfig | null;
  dashboardKeySignin: boolean;
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function oidcConfig(e: z.infer<typeof envSchema>): OidcConfig | null {
  if (!e.OIDC_ISSUER) {
    if (e.OIDC_CLIENT_ID) throw new ConfigError('invalid configuration:\n  OIDC_ISSUER is required when OIDC_CLIENT_ID is set');
    return null;
  }
  const issuer = new URL(e.OIDC_ISSUER);
  if (issuer.protocol !== 'https:' && !LOOPBACK_HOSTS.test(issuer.hostname)) {
    throw new ConfigError('invalid configuration:\n  OIDC_ISSUER must be an https:// URL (http:// is allowed on a loopback address only)');
  }
  if (!e.OIDC_CLIENT_ID) throw new ConfigError('invalid configuration:\n  OIDC_CLIENT_ID is required when OIDC_ISSUER is set');
  const hasMap = Object.keys(e.OIDC_ROLE_MAP).length > 0;
  if (!!e.OIDC_ROLE_CLAIM !== hasMap) throw new ConfigError('invalid configuration:\n  OIDC_ROLE_CLAIM and OIDC_ROLE_MAP must be set together');
  return {
    issuer: e.OIDC_ISSUER,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: e.OIDC_CLIENT_SECRET || undefined,
    scopes: e.OIDC_SCOPES?.trim() || 'openid email profile',
    roleClaim: e.OIDC_ROLE_CLAIM || undefined,
    roleMap: e.OIDC_ROLE_MAP,
    account: e.OIDC_ACCOUNT?.trim() || 'default',
  };
}

function peopleConfig(e: z.infer<typeof envSchema>): PeopleConfig {
  const oidc = oidcConfig(e);
  const keySignin = bool('DASHBOARD_KEY_SIGNIN', oidc === null).safeParse(e.DASHBOARD_KEY_SIGNIN);
  if (!keySignin.success) throw new ConfigError(`invalid configuration:\n  ${keySignin.error.issues[0].message}`);
  const host = e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return {
    publicUrl: (e.KEYWARDEN_PUBLIC_URL ?? `http://${host}:${e.PORT}`).replace(/\/+$/, ''),
    sessions: { idleMinutes: e.SESSION_IDLE_MINUTES, maxHours: e.SESSION_MAX_HOURS },
    oidc,
    dashboardKeySignin: keySignin.data,
  };
}

export type Config = {
  nodeEnv: string;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string;
  /** Where Redis is: REDIS_URL, or a Cluster (REDIS_CLUSTER_NODES), or Sentinels (REDIS_SENTINELS + REDIS_SENTINEL_NAME). */
  redis: RedisTarget;
  redisPrefix: string;
  encryptionKey: Buffer | undefined;
  bootstrap: boolean;
  webhookAllowPrivateNetworks: boolean;
  /** Agents' and workflows' upstreamUrl may point at loopback/private ranges (link-local and metadata never). */
  upstreamAllowPrivateNetworks: boolean;
  webhookRetrySchedule: number[];
  webhookTimeoutMs: number;
  expiryWarningDays: number[];
  scanIntervalSeconds: number;
  /** Webhook deliveries one worker process runs at once. */
  webhookConcurrency: number;
  /** How long a job stays claimed by a worker that stopped answering before another worker takes it over. */
  jobLockSeconds: number;
  /** false, true (every hop), a number of proxy hops, or proxy addresses/CIDR ranges. */
  trustProxy: boolean | number | string[];
  rateLimitFailureMode: 'open' | 'closed';
  rateLimitMode: 'exact' | 'leased';
  bruteForce: { maxFailures: number; windowMs: number; blockMs: number };
  /** GET /metrics needs "Authorization: Bearer <token>"; unset: loopback clients only. */
  metricsToken: string | undefined;
  /** Worker-only processes serve GET /metrics on this port when set (0: not at all). */
  metricsPort: number;
  /** /admin/queues: the installation's credential (unset: closed) and whether its actions are allowed. */
  adminQueues: { token: string | undefined; writable: boolean };
  /** EXT_AUTHZ_PORT: Envoy ext_authz over gRPC; 0 = off. */
  extAuthzPort: number;
  detectors: { windowMs: number; rateLimitThreshold: number; failedAuthThreshold: number };
  usageAnomaly: { factor: number; minRequests: number };
  logLevel: string;
  graphqlMaxDepth: number;
  graphqlMaxComplexity: number;
  /** GraphiQL and schema introspection served (default: not in production). */
  graphqlIntrospection: boolean;
  /** Admin API requests per minute per calling key (0: unlimited). */
  graphqlRateLimit: number;
  /** Admin API requests executing at once per process; more wait in line. */
  graphqlMaxConcurrent: number;
  /** Slow and too many clients: whole-request and header deadlines, and open connections per process. */
  http: { requestTimeoutMs: number; headersTimeoutMs: number; maxConnections: number };
  /** A bulk mutation that changes more keys than this raises a BULK_OPERATION security event. */
  bulkOperationThreshold: number;
  people: PeopleConfig;
  /** GraphQL subscriptions one key may hold open on one API instance. */
  subscriptionsPerKey: number;
  /** TLS_CERT_FILE/TLS_KEY_FILE (absolute paths): HTTPS and HTTP/2 on PORT; unset: plain HTTP. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** After SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes. */
  shutdownDrainMs: number;
};

export class ConfigError extends Error {}

/** GRAPHQL_INTROSPECTION: on by default, off by default when NODE_ENV=production. */
function introspection(raw: string | undefined, nodeEnv: string): boolean {
  const parsed = bool('GRAPHQL_INTROSPECTION', nodeEnv !== 'production').safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n  GRAPHQL_INTROSPECTION: must be true or false, got "${raw}"`);
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => (i.path.length ? `${String(i.path[0])}: ${i.message}` : i.message));
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const encryptionKey = encryptionKeyOf(e.KEYWARDEN_ENCRYPTION_KEY, e.NODE_ENV);
  const tls = tlsFiles(e.TLS_CERT_FILE, e.TLS_KEY_FILE);
  const redis = redisTarget(e.REDIS_URL, env.REDIS_URL, e.REDIS_CLUSTER_NODES, e.REDIS_SENTINELS, e.REDIS_SENTINEL_NAME);
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.KEYWARDEN_DATA_DIR),
    redisUrl: e.REDIS_URL,
    redis,
    redisPrefix: e.KEYWARDEN_REDIS_PREFIX,
    encryptionKey,
    bootstrap: e.KEYWARDEN_BOOTSTRAP,
    webhookAllowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    upstreamAllowPrivateNetworks: e.UPSTREAM_ALLOW_PRIVATE_NETWORKS,
    webhookRetrySchedule: e.WEBHOOK_RETRY_SCHEDULE,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    expiryWarningDays: e.EXPIRY_WARNING_DAYS,
    scanIntervalSeconds: e.SCAN_INTERVAL_SECONDS,
    webhookConcurrency: e.WEBHOOK_CONCURRENCY,
    jobLockSeconds: e.JOB_LOCK_SECONDS,
    trustProxy: e.TRUST_PROXY,
    rateLimitFailureMode: e.RATE_LIMIT_FAILURE_MODE,
    rateLimitMode: e.RATE_LIMIT_MODE,
    bruteForce: { maxFailures: e.BRUTE_FORCE_MAX_FAILURES, windowMs: e.BRUTE_FORCE_WINDOW_SECONDS * 1000, blockMs: e.BRUTE_FORCE_BLOCK_SECONDS * 1000 },
    metricsToken: e.METRICS_TOKEN || undefined,
    metricsPort: e.METRICS_PORT,
    adminQueues: { token: e.ADMIN_QUEUES_TOKEN || undefined, writable: e.ADMIN_QUEUES_WRITE },
    extAuthzPort: e.EXT_AUTHZ_PORT,
    detectors: { windowMs: e.ALERT_WINDOW_SECONDS * 1000, rateLimitThreshold: e.RATE_LIMIT_VIOLATION_THRESHOLD, failedAuthThreshold: e.FAILED_AUTH_BURST_THRESHOLD },
    usageAnomaly: { factor: e.USAGE_ANOMALY_FACTOR, minRequests: e.USAGE_ANOMALY_MIN_REQUESTS },
    logLevel: e.LOG_LEVEL,
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    graphqlMaxComplexity: e.GRAPHQL_MAX_COMPLEXITY,
    graphqlIntrospection: introspection(e.GRAPHQL_INTROSPECTION, e.NODE_ENV),
    graphqlRateLimit: e.GRAPHQL_RATE_LIMIT,
    graphqlMaxConcurrent: e.GRAPHQL_MAX_CONCURRENT,
    http: { requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS, maxConnections: e.HTTP_MAX_CONNECTIONS },
    bulkOperationThreshold: e.BULK_OPERATION_THRESHOLD,
    people: peopleConfig(e),
    subscriptionsPerKey: e.SUBSCRIPTIONS_PER_KEY,
    tls,
    shutdownDrainMs: (e.SHUTDOWN_DRAIN_SECONDS >= 0 ? e.SHUTDOWN_DRAIN_SECONDS : e.NODE_ENV === 'production' ? 5 : 0) * 1000,
  };
}

/** KEYWARDEN_ENCRYPTION_KEY: 32 bytes as base64; required in production. */
function encryptionKeyOf(raw: string | undefined, nodeEnv: string): Buffer | undefined {
  if (!raw) {
    if (nodeEnv === 'production') throw new ConfigError('invalid configuration:\n  KEYWARDEN_ENCRYPTION_KEY is required when NODE_ENV=production');
    return undefined;
  }
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError('invalid configuration:\n  KEYWARDEN_ENCRYPTION_KEY must be 32 bytes encoded as base64');
  return key;
}

/** One way to reach Redis: a URL, a Cluster's seed nodes, or Sentinels with the master's name. */
function redisTarget(url: string, urlSet: string | undefined, cluster: RedisHosts, sentinels: RedisHosts, sentinelName: string | undefined): RedisTarget {
  const name = sentinelName?.trim() || undefined;
  const explicitUrl = urlSet?.trim() ? url : undefined;
  if (cluster && sentinels) throw new ConfigError('invalid configuration:\n  REDIS_CLUSTER_NODES and REDIS_SENTINELS: set one of them, not both');
  if (sentinels && !name) throw new ConfigError('invalid configuration:\n  REDIS_SENTINEL_NAME must name the master when REDIS_SENTINELS is set');
  if (name && !sentinels) throw new ConfigError('invalid configuration:\n  REDIS_SENTINELS must list the Sentinels (host:port,...) when REDIS_SENTINEL_NAME is set');
  if (cluster) return { kind: 'cluster', nodes: cluster, url: explicitUrl };
  if (sentinels && name) return { kind: 'sentinel', sentinels, name, url: explicitUrl };
  return { kind: 'url', url };
}

type RedisHosts = { host: string; port: number }[] | undefined;

/** Both TLS variables or neither; the files themselves are read (and checked) by the listener at start-up. */
function tlsFiles(cert: string | undefined, key: string | undefined): Config['tls'] {
  const c = cert?.trim() || undefined;
  const k = key?.trim() || undefined;
  if (!c && !k) return undefined;
  if (!c || !k) throw new ConfigError(`invalid configuration:\n  ${c ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'} must be set too when ${c ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'} is (both PEM files, or neither)`);
  return { certFile: path.resolve(c), keyFile: path.resolve(k) };
}

/**
 * In production, an API on plain HTTP at an address other machines reach would take master keys in
 * clear: refused unless Keywarden serves TLS itself or sits behind a (TLS-terminating) proxy.
 * Checked where the API starts (a worker-only process serves no keys, only health and metrics).
 */
export function refusePlainHttpInProduction(config: Pick<Config, 'nodeEnv' | 'host' | 'tls'>, env: NodeJS.ProcessEnv = process.env): void {
  if (config.nodeEnv !== 'production' || config.tls || isLoopbackHost(config.host)) return;
  const proxy = (env.TRUST_PROXY ?? '').trim().toLowerCase();
  if (proxy !== '' && !['false', '0', 'no', 'off'].includes(proxy)) return;
  throw new ConfigError(
    `invalid configuration:\n  HOST=${config.host} with NODE_ENV=production would serve plain HTTP to the network: set TLS_CERT_FILE and TLS_KEY_FILE, or TRUST_PROXY when a TLS-terminating proxy is in front`,
  );
}

/**
 * The key that encrypts webhook secrets at rest. Outside production a missing
 * KEYWARDEN_ENCRYPTION_KEY is generated once into <KEYWARDEN_DATA_DIR>/encryption.key (0600),
 * so a development install works at once and keeps its secrets readable across restarts.
 */
export function resolveEncryptionKey(config: Pick<Config, 'encryptionKey' | 'nodeEnv' | 'dataDir'>): Buffer {
  if (config.encryptionKey) return config.encryptionKey;
  if (config.nodeEnv === 'production') throw new ConfigError('invalid configuration:\n  KEYWARDEN_ENCRYPTION_KEY is required when NODE_ENV=production');
  const file = path.join(config.dataDir, 'encryption.key');
  writingDataDir(config.dataDir, () => generateKeyFile(config.dataDir, file));
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`invalid configuration:\n  ${file} must hold 32 bytes encoded as base64 (or set KEYWARDEN_ENCRYPTION_KEY)`);
  return key;
}

/** A new random key into `file`, unless it is there. */
function generateKeyFile(dataDir: string, file: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    // Written aside and hard-linked into place: when two processes start at once, one link wins
    // and the other reads a complete file, never a half-written one.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
}
