#!/bin/sh
echo "keywarden: the Prisma schema engine is not installed; migrations are applied by 'npm start' (src/infra/migrate.ts)" >&2
exit 1
