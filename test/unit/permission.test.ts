import type { Permission } from '../../src/generated/prisma/enums';
import { PERMISSION_ORDER, canAdministerKeys, lowestPermission, permissionRank, permits } from '../../src/access/permission';

const LEVELS: Permission[] = ['READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS'];

describe('permission order', () => {
  test('is READ_ONLY < EXECUTE < MANAGE < FULL_ACCESS', () => {
    expect(PERMISSION_ORDER).toEqual(LEVELS);
    expect(LEVELS.map(permissionRank)).toEqual([0, 1, 2, 3]);
  });
});

describe('permits', () => {
  const rows = LEVELS.flatMap((held, h) => LEVELS.map((required, r) => [held, required, h >= r] as [Permission, Permission, boolean]));

  test.each(rows)('a %s key asked for %s -> %s', (held, required, expected) => {
    expect(permits(held, required)).toBe(expected);
  });
});

describe('lowestPermission', () => {
  test.each<[Permission[], Permission]>([
    [['FULL_ACCESS'], 'FULL_ACCESS'],
    [['READ_ONLY'], 'READ_ONLY'],
    [['FULL_ACCESS', 'MANAGE'], 'MANAGE'],
    [['MANAGE', 'FULL_ACCESS'], 'MANAGE'],
    [['FULL_ACCESS', 'EXECUTE', 'MANAGE'], 'EXECUTE'],
    [['EXECUTE', 'FULL_ACCESS', 'READ_ONLY', 'MANAGE'], 'READ_ONLY'],
    [[...Array(20).fill('FULL_ACCESS'), 'EXECUTE'], 'EXECUTE'],
  ])('the lowest of %j is %s', (perms, expected) => {
    expect(lowestPermission(perms)).toBe(expected);
  });
});

describe('canAdministerKeys', () => {
  test.each<[Permission, boolean]>([
    ['READ_ONLY', false],
    ['EXECUTE', false],
    ['MANAGE', true],
    ['FULL_ACCESS', true],
  ])('%s -> %s', (p, expected) => {
    expect(canAdministerKeys(p)).toBe(expected);
  });
});
