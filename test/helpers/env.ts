// Every test process: test mode (Pothos reports unused Prisma queries), quiet logs.
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'silent';
