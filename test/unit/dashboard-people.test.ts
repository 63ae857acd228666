import { href, parseRoute } from '../../dashboard/src/router';
import { powersOf, viewerLabel, type ViewerInfo } from '../../dashboard/src/viewer';

// What the dashboard offers each viewer (README, People and single sign-on): the pages hide what
// the server would refuse. The server's own rule is tested in test/integration/operators*.test.ts.

const account = { id: 'a', name: 'acme' };
const key = (master: boolean, effectivePermission: string): ViewerInfo => ({
  account,
  key: { id: 'k', name: 'ci', start: 'ak_prod_abcd', master, permission: effectivePermission, effectivePermission },
  operator: null,
});
const person = (role: 'OWNER' | 'ADMIN' | 'AUDITOR'): ViewerInfo => ({ account, key: null, operator: { id: 'o', email: 'ana@example.test', name: null, role } });

test.each([
  ['a master key', key(true, 'FULL_ACCESS'), { accountWide: true, write: true, master: true, managePeople: true, approve: false, managesKeys: true }],
  ['a MANAGE key', key(false, 'MANAGE'), { accountWide: false, write: true, master: false, managePeople: false, approve: false, managesKeys: true }],
  ['a READ_ONLY key', key(false, 'READ_ONLY'), { accountWide: false, write: true, master: false, managePeople: false, approve: false, managesKeys: false }],
  ['an OWNER', person('OWNER'), { accountWide: true, write: true, master: true, managePeople: true, approve: true, managesKeys: true }],
  ['an ADMIN', person('ADMIN'), { accountWide: true, write: true, master: true, managePeople: false, approve: true, managesKeys: true }],
  ['an AUDITOR', person('AUDITOR'), { accountWide: true, write: false, master: false, managePeople: false, approve: false, managesKeys: false }],
])('%s', (_label, viewer, powers) => {
  expect(powersOf(viewer)).toEqual(powers);
});

test('the top bar names the person and their role, or the key', () => {
  expect(viewerLabel(person('AUDITOR'))).toBe('ana@example.test (auditor)');
  expect(viewerLabel({ ...person('OWNER'), operator: { id: 'o', email: 'ana@example.test', name: 'Ana', role: 'OWNER' } })).toBe('Ana (owner)');
  expect(viewerLabel(key(true, 'FULL_ACCESS'))).toBe('ci');
});

test('the People and Requests pages have routes of their own', () => {
  for (const page of ['requests', 'operators'] as const) {
    expect(parseRoute(href({ page }))).toEqual({ page });
  }
  expect(href({ page: 'operators' })).toBe('#/operators');
});
