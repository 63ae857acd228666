import { KeyStatus, KeyType, Permission, ScopeKind } from '../generated/prisma/enums';
import { PERIODS, RATE_WINDOWS } from '../access/key-settings';
import { WEEKDAYS } from '../access/window';
import { builder } from './builder';

export const PermissionEnum = builder.enumType(Permission, { name: 'Permission' });
export const ScopeKindEnum = builder.enumType(ScopeKind, { name: 'ScopeKind' });
export const KeyTypeEnum = builder.enumType(KeyType, { name: 'KeyType' });
export const KeyStatusEnum = builder.enumType(KeyStatus, {
  name: 'KeyStatus',
  description: 'ROTATING: replaced by a successor, still valid until graceEndsAt.',
});
export const ExpirationEnum = builder.enumType('Expiration', { values: ['DAYS_30', 'DAYS_90', 'YEAR_1', 'NEVER'] as const });
export const RateWindowEnum = builder.enumType('RateWindow', { values: RATE_WINDOWS });
export const PeriodEnum = builder.enumType('Period', { values: PERIODS });
export const WeekdayEnum = builder.enumType('Weekday', { values: WEEKDAYS });
