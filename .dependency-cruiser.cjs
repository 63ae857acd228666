// The house's arrows, checked by `npm run lint` (docs/layout.md draws them):
//
//   entry faces (graphql/, verify/, http/, workers/, dashboard.ts, metrics-http.ts)
//   composed by server.ts, app.ts, main.ts
//        -> domain rooms (keys, identities, operators, access, limits, audit, events, webhooks, reports, agents)
//        -> base (infra/, config.ts, generated/)
//
// Paths are regular expressions on paths from the repository root.

const ROOMS = ['keys', 'identities', 'operators', 'access', 'limits', 'audit', 'events', 'webhooks', 'reports', 'agents'];
const DOMAIN = `^src/(${ROOMS.join('|')})/`;
/** The same rooms as folders (folder-scoped rules see `src/keys`, without a trailing slash). */
const DOMAIN_FOLDER = `^src/(${ROOMS.join('|')})$`;
/** Rooms that imported each other in a circle when this check came in (see the -known rule). */
const BASE = '^src/(infra/|generated/|config\\.ts$)';
/** HTTP and GraphQL faces and the workers: each serves one kind of caller and composes domain calls. */
const FACE_FOLDERS = '^(src/(graphql|verify|http)|workers)/';
const FACE_FILES = '^src/(dashboard|metrics-http)\\.ts$';
/** What wires the faces together into processes. */
const COMPOSITION = '^src/(server|app|main)\\.ts$';
const ENTRY = [FACE_FOLDERS, FACE_FILES, COMPOSITION];

/** Packages match on the path they resolve to (`node_modules/ioredis/built/index.js`), not on the name imported. */
const npm = (...names) => `(^|/)node_modules/(${names.join('|')})/`;

/** Modules that reach the network, the disk, other processes or a database: none of them in access/. */
const IO_CORE = '^(node:)?(fs|fs/promises|net|http|https|http2|dns|dns/promises|child_process|tls|dgram|cluster|worker_threads)$';
const IO_PACKAGES = npm('ioredis', 'pg', 'pg-pool', '@prisma/[^/]+', 'prisma', 'undici', 'bullmq', '@electric-sql/pglite', 'pglite-prisma-adapter', 'geoip-country', 'standardwebhooks', 'sirv', '@bull-board/[^/]+');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'base-imports-nothing-above',
      severity: 'error',
      comment: 'infra/, config.ts and generated code are the ground floor: they import no domain room and no entry code.',
      from: { path: BASE },
      to: { path: '^(src|workers)/', pathNot: BASE },
    },
    {
      name: 'domain-imports-no-entry',
      severity: 'error',
      comment: 'Domain rooms never import GraphQL, HTTP faces, workers or the composition (type-only imports included): move the shared piece down into the domain or infra/.',
      from: { path: DOMAIN },
      to: { path: ENTRY },
    },
    {
      name: 'domain-imports-no-graphql-or-bullmq',
      severity: 'error',
      comment: 'The domain never imports GraphQL types, the schema builder or BullMQ: resolvers and workers translate.',
      from: { path: DOMAIN },
      to: { path: npm('graphql', 'graphql-yoga', 'graphql-scalars', '@pothos/[^/]+', 'bullmq') },
    },
    {
      name: 'no-cycles-between-domain-rooms',
      severity: 'error',
      comment: 'Domain rooms depend on each other one way only; a circle means a shared piece belongs lower down (infra/) or in one of the two rooms.',
      scope: 'folder',
      from: { path: DOMAIN_FOLDER },
      to: { path: DOMAIN_FOLDER, circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      comment: 'No import cycles between modules anywhere in src/ and workers/ (a cycle makes load order matter).',
      from: { path: '^(src|workers)/', pathNot: '^src/generated/' },
      to: { circular: true },
    },
    {
      name: 'access-is-pure-no-io',
      severity: 'error',
      comment: 'access/ decides from its arguments alone: no network, disk, database, Redis or HTTP client.',
      from: { path: '^src/access/' },
      to: { path: [IO_CORE, IO_PACKAGES] },
    },
    {
      name: 'access-imports-only-access-errors-clock-enums',
      severity: 'error',
      comment: 'access/ may use other access/ modules, infra/errors, infra/clock and the generated enums, nothing else of src/.',
      from: { path: '^src/access/' },
      to: { path: '^(src|workers)/', pathNot: '^src/(access/|infra/(errors|clock)\\.ts$|generated/prisma/enums\\.ts$)' },
    },
    {
      name: 'faces-do-not-import-each-other',
      severity: 'error',
      comment: 'An entry face (graphql/, verify/, http/, workers/) does not reach into another face: what both need lives in the domain or infra/.',
      from: { path: '^(src/(graphql|verify|http)|workers)/' },
      to: { path: [FACE_FOLDERS, FACE_FILES], pathNot: '^$1/' },
    },
    {
      name: 'single-file-faces-import-no-face',
      severity: 'error',
      comment: 'dashboard.ts and metrics-http.ts are faces of their own: they import no other face.',
      from: { path: FACE_FILES },
      to: { path: [FACE_FOLDERS, FACE_FILES] },
    },
    {
      name: 'only-the-composition-imports-the-composition',
      severity: 'error',
      comment: 'server.ts, app.ts and main.ts wire the faces together; nothing below them imports them.',
      from: { pathNot: COMPOSITION },
      to: { path: COMPOSITION },
    },
    {
      name: 'runtime-uses-no-dev-dependency',
      severity: 'error',
      comment: 'The compiled build runs after `npm ci --omit=dev`: src/ and workers/ may import only dependencies (type-only imports aside).',
      from: { path: '^(src|workers)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unlisted-package',
      severity: 'error',
      comment: 'Every package src/ and workers/ import is listed in package.json.',
      from: { path: '^(src|workers)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'Every import resolves to a file or package.',
      from: { path: '^(src|workers)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
