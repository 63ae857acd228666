import pino, { type DestinationStream, type Logger } from 'pino';

// Anything shaped like a Keywarden secret or a webhook secret is masked before a log line is written,
// wherever it appears (message, nested field, error text). Authorization headers are dropped.
const SECRET_PATTERN = /\b(ak_(?:dev|prod|int|emg|root)_)[0-9A-Za-z]{8,}|\bwhsec_[A-Za-z0-9+/=]{8,}/g;

export function maskSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (m, prefix?: string) => `${prefix ?? 'whsec_'}[REDACTED]`);
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: maskSecrets(value.message), stack: value.stack && maskSecrets(value.stack) };
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keywarden' },
      redact: {
        paths: ['secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization'],
        censor: '[REDACTED]',
      },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
}

export let logger: Logger = createLogger(process.env.LOG_LEVEL ?? 'info');

export function setLogger(next: Logger): void {
  logger = next;
}
