import type { Permission } from '../../src/generated/prisma/enums';
import { isKeyAdmin, mayAdministerKey, mayReadKey, type Actor, type AdministeredKey } from '../../src/access/admin';

const ACCOUNT = 'acc-1';
const OTHER = 'acc-2';

function actor(over: Partial<Actor> = {}): Actor {
  return { accountId: ACCOUNT, keyId: 'me', master: false, effectivePermission: 'MANAGE', ip: null, ...over };
}

const master = actor({ keyId: 'root', master: true, effectivePermission: 'FULL_ACCESS' });
const manage = actor({ effectivePermission: 'MANAGE' });
const full = actor({ effectivePermission: 'FULL_ACCESS' });
const execute = actor({ effectivePermission: 'EXECUTE' });
const readOnly = actor({ effectivePermission: 'READ_ONLY' });

// Tree (account acc-1): root -> me -> child -> grandchild; root -> sibling.
const self: AdministeredKey = { id: 'me', accountId: ACCOUNT, ancestorIds: ['root'] };
const child: AdministeredKey = { id: 'child', accountId: ACCOUNT, ancestorIds: ['root', 'me'] };
const grandchild: AdministeredKey = { id: 'grandchild', accountId: ACCOUNT, ancestorIds: ['root', 'me', 'child'] };
const sibling: AdministeredKey = { id: 'sibling', accountId: ACCOUNT, ancestorIds: ['root'] };
const parent: AdministeredKey = { id: 'root', accountId: ACCOUNT, ancestorIds: [] };
// Another account's key that (through a forged or colliding id) lists "me" as an ancestor.
const foreignDescendant: AdministeredKey = { id: 'x', accountId: OTHER, ancestorIds: ['me'] };
const foreignKey: AdministeredKey = { id: 'y', accountId: OTHER, ancestorIds: [] };
const foreignSameId: AdministeredKey = { id: 'me', accountId: OTHER, ancestorIds: [] };
const deep: AdministeredKey = {
  id: 'k24',
  accountId: ACCOUNT,
  ancestorIds: ['root', ...Array.from({ length: 10 }, (_, i) => `k${i}`), 'me', ...Array.from({ length: 12 }, (_, i) => `k${i + 10}`)],
};

describe('isKeyAdmin', () => {
  test.each<[string, Actor, boolean]>([
    ['a master key is a key admin', master, true],
    ['a master key is a key admin even with a low effective permission', actor({ master: true, effectivePermission: 'READ_ONLY' }), true],
    ['a FULL_ACCESS key is a key admin', full, true],
    ['a MANAGE key is a key admin', manage, true],
    ['an EXECUTE key is not a key admin', execute, false],
    ['a READ_ONLY key is not a key admin', readOnly, false],
  ])('%s', (_label, a, expected) => {
    expect(isKeyAdmin(a)).toBe(expected);
  });
});

describe('mayAdministerKey', () => {
  test.each<[string, Actor, AdministeredKey, boolean]>([
    ['master administers any key of its account', master, sibling, true],
    ['master administers a deep key of its account', master, deep, true],
    ['master does not administer a key of another account', master, foreignKey, false],
    ['master does not administer another account key listing it as ancestor', { ...master, keyId: 'me' }, foreignDescendant, false],

    ['MANAGE key administers its child', manage, child, true],
    ['MANAGE key administers its grandchild', manage, grandchild, true],
    ['MANAGE key administers a descendant 12 levels below it', manage, deep, true],
    ['MANAGE key does not administer itself', manage, self, false],
    ['MANAGE key does not administer its parent', manage, parent, false],
    ['MANAGE key does not administer a sibling', manage, sibling, false],
    ['MANAGE key does not administer another account key', manage, foreignKey, false],
    ['MANAGE key does not administer another account key listing it as ancestor', manage, foreignDescendant, false],

    ['FULL_ACCESS key administers its child', full, child, true],
    ['FULL_ACCESS key does not administer a sibling', full, sibling, false],

    ['EXECUTE key does not administer even its child', execute, child, false],
    ['READ_ONLY key does not administer even its child', readOnly, child, false],
    ['READ_ONLY key does not administer a sibling', readOnly, sibling, false],
  ])('%s', (_label, a, key, expected) => {
    expect(mayAdministerKey(a, key)).toBe(expected);
  });

  test.each<Permission>(['READ_ONLY', 'EXECUTE'])('a key whose effective permission was narrowed to %s loses its subtree', (p) => {
    expect(mayAdministerKey(actor({ effectivePermission: p }), grandchild)).toBe(false);
  });
});

describe('mayReadKey', () => {
  test.each<[string, Actor, AdministeredKey, boolean]>([
    ['master reads any key of its account', master, sibling, true],
    ['master does not read a key of another account', master, foreignKey, false],
    ['MANAGE key reads itself', manage, self, true],
    ['MANAGE key reads its descendants', manage, grandchild, true],
    ['MANAGE key does not read its parent', manage, parent, false],
    ['MANAGE key does not read a sibling', manage, sibling, false],
    ['READ_ONLY key reads itself', readOnly, self, true],
    ['READ_ONLY key does not read its child', readOnly, child, false],
    ['READ_ONLY key does not read a sibling', readOnly, sibling, false],
    ['EXECUTE key reads itself', execute, self, true],
    ['a key does not read a key of another account with the same id', readOnly, foreignSameId, false],
    ['MANAGE key does not read another account key listing it as ancestor', manage, foreignDescendant, false],
  ])('%s', (_label, a, key, expected) => {
    expect(mayReadKey(a, key)).toBe(expected);
  });
});
