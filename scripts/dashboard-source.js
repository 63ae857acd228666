// The digest of everything the built dashboard is made from: its sources, its build config and
// the versions of the packages bundled into it. dashboard/dist/.source-sha256 records it at
// build time; a test fails when the checked-in build is older than its sources.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dashboard = path.join(root, 'dashboard');
const BUNDLED = ['react', 'react-dom', 'vite'];

function files(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== 'dist' && e.name !== 'node_modules')
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

function dashboardSourceDigest() {
  const hash = crypto.createHash('sha256');
  for (const file of files(dashboard)) {
    hash.update(path.relative(root, file).split(path.sep).join('/')).update('\0');
    hash.update(fs.readFileSync(file)).update('\0');
  }
  for (const name of BUNDLED) {
    const pkg = require(path.join(root, 'node_modules', name, 'package.json'));
    hash.update(`${name}@${pkg.version}\0`);
  }
  return hash.digest('hex');
}

module.exports = { dashboardSourceDigest, DIGEST_FILE: path.join(dashboard, 'dist', '.source-sha256') };
