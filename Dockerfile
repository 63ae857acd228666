# Keywarden container image: `docker build -t keywarden .` (see docs/operations.md).
# Two stages: the first installs every dependency and compiles dist/ (npm ci runs the build);
# the second installs production dependencies only over that dist/ and runs as the `node` user.
# test/integration/container.test.ts runs these steps without Docker, in a clean folder.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 KEYWARDEN_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prepare.js ./scripts/prepare.js
COPY --from=build /app/dist ./dist
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY prisma/migrations ./prisma/migrations
COPY dashboard/dist ./dashboard/dist
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
VOLUME /data
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.js"]
CMD ["node", "--max-semi-space-size=32", "bin/keywarden.js", "start"]
