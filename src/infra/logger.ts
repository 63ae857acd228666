import pino, { type DestinationStream, type Logger } from 'pino';

// Anything shaped like a Keywarden secret or a webhook secret is masked in every log line,
// wherever pino put it (message, nested field, error text, child bindings): the masking runs on
// the serialized line just before it is written. Authorization headers are dropped outright.
const SECRET_PATTERN = /\b(ak_(?:dev|prod|int|emg|root)_)[0-9A-Za-z]{8,}|\bwhsec_[A-Za-z0-9+/=]{8,}/g;

export function maskSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (_m, prefix?: string) => `${prefix ?? 'whsec_'}[REDACTED]`);
}

/** Wraps a destination so each line is masked before it leaves the process. */
function maskingDestination(destination: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      return destination.write(line.includes('ak_') || line.includes('whsec_') ? maskSecrets(line) : line);
    },
  } as DestinationStream;
}

/** Errors anywhere in a log object keep their type, message and stack (pino only does `err`). */
function serializeErrors(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => serializeErrors(v, depth + 1));
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // pino's own serializer handles a top-level `err`.
    out[k] = depth === 0 && k === 'err' ? v : serializeErrors(v, depth + 1);
    if (out[k] !== v) changed = true;
  }
  return changed ? out : value;
}

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keywarden' },
      redact: {
        paths: ['secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'cookie', '*.cookie', 'headers.cookie', '*.headers.cookie'],
        censor: '[REDACTED]',
      },
      formatters: { log: (obj) => serializeErrors(obj) as Record<string, unknown> },
    },
    maskingDestination(destination ?? pino.destination({ dest: 1, sync: false })),
  );
}

export let logger: Logger = createLogger(process.env.LOG_LEVEL ?? 'info');

export function setLogger(next: Logger): void {
  logger = next;
}
