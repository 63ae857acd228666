import type { VerifyDeps } from '../../src/verify/verify';

// A verification without a limiter (or guard, usage, detectors ...) must not quietly mean "no
// limits": every member of VerifyDeps is required, and code that wants none passes a no-op.
// `npm run typecheck` fails this file when a member becomes optional.

type OptionalMembers<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

test('every verification dependency is required', () => {
  const noneOptional: [OptionalMembers<VerifyDeps>] extends [never] ? true : false = true;
  expect(noneOptional).toBe(true);
});
