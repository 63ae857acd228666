import { defineConfig } from 'prisma/config';

// Only the Prisma CLI reads this (generate, migrate diff/dev/status). The application applies
// migrations itself at start-up (src/infra/migrate.ts), on PostgreSQL or the embedded store.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/keywarden' },
});
