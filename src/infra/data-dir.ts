import fs from 'node:fs';
import path from 'node:path';

// KEYWARDEN_DATA_DIR holds the embedded store and the generated development secrets. When it
// cannot be written (a full disk, a read-only mount, no permission) start-up stops with one line
// that names the directory and the problem, not a stack trace or PGlite's "failed to initialize
// properly" (which is all it says about a full disk under an existing store).

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** The error codes that mean "this directory cannot be written": what is wrong, and the first remedy. */
const PROBLEMS: Record<string, [string, string]> = {
  ENOSPC: ['the disk holding it is full (ENOSPC: no space left on device)', 'free space there'],
  EDQUOT: ['the disk quota there is used up (EDQUOT)', 'free space there'],
  EROFS: ['is not writable (EROFS: read-only file system)', 'mount it writable'],
  EACCES: ['is not writable (EACCES: permission denied)', 'let the user Keywarden runs as write there'],
  EPERM: ['is not writable (EPERM: operation not permitted)', 'let the user Keywarden runs as write there'],
};

/**
 * PGlite's file system reports Emscripten's errno numbers (an `ErrnoError` without a message),
 * not the platform's: the ones above, by their Emscripten numbers.
 */
const EMSCRIPTEN_ERRNO: Record<number, string> = { 51: 'ENOSPC', 19: 'EDQUOT', 69: 'EROFS', 2: 'EACCES', 63: 'EPERM' };

/** The free space below which a failing store start is taken to be a full disk: one WAL segment. */
const NEARLY_FULL_BYTES = 16 * 1024 * 1024;

function codeOf(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; name?: unknown; errno?: unknown };
  if (typeof e.code === 'string' && PROBLEMS[e.code]) return e.code;
  if (e.name === 'ErrnoError' && typeof e.errno === 'number') return EMSCRIPTEN_ERRNO[e.errno];
  return undefined;
}

function describe(dataDir: string, code: string, detail?: string): DataDirError {
  const [problem, remedy] = PROBLEMS[code];
  const what = problem.startsWith('is ') ? `KEYWARDEN_DATA_DIR=${dataDir} ${problem}` : `KEYWARDEN_DATA_DIR=${dataDir}: ${problem}`;
  return new DataDirError(`${what}${detail ? `, ${detail}` : ''}; ${remedy}, point KEYWARDEN_DATA_DIR elsewhere, or set DATABASE_URL to use PostgreSQL`);
}

/**
 * The data directory's problem behind a file system error, or null when the error is not one.
 * Some calls report a read-only mount as something else (a recursive mkdir says ENOENT), so an
 * error without a telling code asks the nearest existing directory whether it can be written.
 */
export function dataDirProblem(err: unknown, dataDir: string): DataDirError | null {
  const code = codeOf(err) ?? codeOf(writeAccessError(dataDir));
  return code ? describe(dataDir, code) : null;
}

/** access(W_OK) on `dir` or its nearest existing ancestor: the error, or null when writable. */
function writeAccessError(dir: string): unknown {
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  try {
    fs.accessSync(at, fs.constants.W_OK);
    return null;
  } catch (err) {
    return err;
  }
}

/** Bytes free to an unprivileged writer on the file system holding `dir`, or null when unknown. */
function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/**
 * Why the embedded store at `storeDir` (<KEYWARDEN_DATA_DIR>/pgdata) failed to start, when the
 * data directory is the cause: an error code that says so, or, for PGlite's wordless failures,
 * a disk with (nearly) no space left. Null otherwise: the original error stands.
 */
export function embeddedStoreFailure(err: unknown, storeDir: string): DataDirError | null {
  const dataDir = path.dirname(storeDir);
  const known = dataDirProblem(err, dataDir);
  if (known) return known;
  const free = freeBytes(fs.existsSync(storeDir) ? storeDir : dataDir);
  if (free !== null && free < NEARLY_FULL_BYTES) return describe(dataDir, 'ENOSPC', `${Math.floor(free / 1024)} KiB free`);
  return null;
}

/** Runs a write to the data directory; its file system errors become one clear DataDirError. */
export function writingDataDir<T>(dataDir: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw dataDirProblem(err, dataDir) ?? err;
  }
}
