import { badInput } from '../infra/errors';

// CEL conditions are evaluated by the restrictions work; until then a condition cannot be set,
// so no key ever carries a rule that is not enforced.
export function validateCondition(field: string, _expr: string): void {
  throw badInput(field, 'CEL conditions are not available in this version');
}
