import { dataDirProblem } from '../../src/infra/data-dir';

// How file system errors from the data directory read: PGlite's Emscripten errors carry only a
// number; Node's carry the platform's code.

class ErrnoError {
  name = 'ErrnoError';
  constructor(readonly errno: number) {}
}

test.each([
  ['PGlite, a full disk', new ErrnoError(51), /^KEYWARDEN_DATA_DIR=\/data: the disk holding it is full \(ENOSPC: no space left on device\); free space there/],
  ['PGlite, a read-only file system', new ErrnoError(69), /^KEYWARDEN_DATA_DIR=\/data is not writable \(EROFS: read-only file system\)/],
  ['Node, a full disk', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), /full \(ENOSPC/],
  ['Node, no permission', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }), /^KEYWARDEN_DATA_DIR=\/data is not writable \(EACCES: permission denied\)/],
])('%s is named in one line', (_label, err, message) => {
  const problem = dataDirProblem(err, '/data');
  expect(problem?.message).toMatch(message);
  expect(problem?.message).not.toContain('\n');
});
