import type { Actor } from '../../src/access/admin';
import { highestRole, liveScopeOf, mayApprove, mayManagePeople, mayWrite, roleFromClaim } from '../../src/access/roles';

const key = (master: boolean): Actor => ({ accountId: 'a', keyId: 'k', master, effectivePermission: master ? 'FULL_ACCESS' : 'MANAGE', ip: null });
const person = (role: 'OWNER' | 'ADMIN' | 'AUDITOR'): Actor => ({ accountId: 'a', keyId: null, operatorId: 'o', role, master: true, effectivePermission: 'FULL_ACCESS', ip: null });

test.each([
  ['master key', key(true), { write: true, people: true, approve: false }],
  ['MANAGE key', key(false), { write: true, people: false, approve: false }],
  ['OWNER', person('OWNER'), { write: true, people: true, approve: true }],
  ['ADMIN', person('ADMIN'), { write: true, people: false, approve: true }],
  ['AUDITOR', person('AUDITOR'), { write: false, people: false, approve: false }],
])('%s: writes / manages people / approves', (_name, actor, expected) => {
  expect({ write: mayWrite(actor), people: mayManagePeople(actor), approve: mayApprove(actor) }).toEqual(expected);
});

test('a claim maps to the highest role any of its values is mapped to', () => {
  const map = { 'kw-owners': 'OWNER', 'kw-admins': 'ADMIN', 'kw-auditors': 'AUDITOR' } as const;
  expect(roleFromClaim(['kw-auditors', 'kw-owners', 'other'], map)).toBe('OWNER');
  expect(roleFromClaim('kw-admins', map)).toBe('ADMIN');
  expect(roleFromClaim(['other'], map)).toBeNull();
  expect(roleFromClaim(undefined, map)).toBeNull();
  expect(roleFromClaim([{ toString: () => 'kw-owners' }], map)).toBeNull();
  expect(roleFromClaim('constructor', map)).toBeNull();
  expect(highestRole([])).toBeNull();
});

test.each([
  ['master key', key(true), 'account'],
  ['MANAGE key', key(false), 'subtree'],
  ['FULL_ACCESS key', { ...key(false), effectivePermission: 'FULL_ACCESS' } as Actor, 'subtree'],
  ['EXECUTE key', { ...key(false), effectivePermission: 'EXECUTE' } as Actor, null],
  ['READ_ONLY key', { ...key(false), effectivePermission: 'READ_ONLY' } as Actor, null],
  ['OWNER', person('OWNER'), 'account'],
  ['ADMIN', person('ADMIN'), 'account'],
  ['AUDITOR (reads only, and following is reading)', person('AUDITOR'), 'account'],
  ['an operator with no known role', { ...person('OWNER'), role: 'VIEWER' } as unknown as Actor, null],
])('%s follows live updates of: %s', (_name, actor, expected) => {
  expect(liveScopeOf(actor)).toBe(expected);
});
