import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { SECRET_CANDIDATE, maskSecret, parseSecret } from './secret';

// Finds Keywarden secrets in files: the prefix pattern, then the checksum, so random look-alikes
// are not reported.

export interface Finding {
  file: string;
  line: number;
  masked: string;
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);
const MAX_FILE_BYTES = 10 * 1024 * 1024;

async function* walk(p: string): AsyncGenerator<string> {
  const st = await fs.promises.lstat(p);
  if (st.isSymbolicLink()) return;
  if (st.isFile()) {
    if (st.size <= MAX_FILE_BYTES) yield p;
    return;
  }
  if (!st.isDirectory()) return;
  const entries = await fs.promises.readdir(p, { withFileTypes: true });
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory() && SKIP_DIRS.has(e.name)) continue;
    yield* walk(path.join(p, e.name));
  }
}

export function findSecretsInLine(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SECRET_CANDIDATE)) if (parseSecret(m[0])) out.push(m[0]);
  return out;
}

export async function scanPaths(paths: string[], onFinding: (f: Finding) => void): Promise<number> {
  let count = 0;
  for (const root of paths) {
    if (!fs.existsSync(root)) throw new Error(`no such file or directory: ${root}`);
    for await (const file of walk(root)) {
      const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
      let n = 0;
      for await (const line of rl) {
        n++;
        if (!line.includes('ak_')) continue;
        for (const s of findSecretsInLine(line)) {
          count++;
          onFinding({ file, line: n, masked: maskSecret(s) });
        }
      }
    }
  }
  return count;
}
