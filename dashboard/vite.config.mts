import { defineConfig } from 'vite';

// The dashboard is a static client of /graphql, built into dashboard/dist (checked in) and served
// by Keywarden under /dashboard/. `npm run dashboard:dev` proxies /graphql and /auth to a local
// Keywarden (for single sign-on there, start it with KEYWARDEN_PUBLIC_URL set to this dev server).
export default defineConfig({
  base: '/dashboard/',
  publicDir: false,
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, assetsInlineLimit: 0 },
  server: { proxy: { '/graphql': process.env.KEYWARDEN_URL ?? 'http://127.0.0.1:4000', '/auth': process.env.KEYWARDEN_URL ?? 'http://127.0.0.1:4000' } },
});
