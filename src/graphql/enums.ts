import { KeyStatus, KeyType, Permission, ScopeKind } from '../generated/prisma/enums';
import { builder } from './builder';

export const PermissionEnum = builder.enumType(Permission, { name: 'Permission' });
export const ScopeKindEnum = builder.enumType(ScopeKind, { name: 'ScopeKind' });
export const KeyTypeEnum = builder.enumType(KeyType, { name: 'KeyType' });
export const KeyStatusEnum = builder.enumType(KeyStatus, {
  name: 'KeyStatus',
  description: 'ROTATING: replaced by a successor, still valid until graceEndsAt.',
});
export const ExpirationEnum = builder.enumType('Expiration', { values: ['DAYS_30', 'DAYS_90', 'YEAR_1', 'NEVER'] as const });
export const RateWindowEnum = builder.enumType('RateWindow', { values: ['MINUTE', 'HOUR', 'DAY'] as const });
export const PeriodEnum = builder.enumType('Period', { values: ['DAY', 'MONTH'] as const });
export const WeekdayEnum = builder.enumType('Weekday', { values: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const });
