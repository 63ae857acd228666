import type { ApprovalTrigger, KeyType, Permission } from '../generated/prisma/enums';

// The two-person rule's policy: which keys need a second person's approval. Pure.

export const APPROVAL_TRIGGERS = ['HIGH_PRIVILEGE', 'EMERGENCY', 'MASTER', 'ANY'] as const satisfies readonly ApprovalTrigger[];

export interface KeyClass {
  permission: Permission;
  type: KeyType;
  master: boolean;
}

/** The triggers of `requireFor` that cover a key of this class (empty: no approval needed). */
export function approvalTriggers(requireFor: readonly ApprovalTrigger[], key: KeyClass): ApprovalTrigger[] {
  return requireFor.filter((t) => {
    switch (t) {
      case 'ANY':
        return true;
      case 'HIGH_PRIVILEGE':
        return key.permission === 'MANAGE' || key.permission === 'FULL_ACCESS';
      case 'EMERGENCY':
        return key.type === 'EMERGENCY';
      case 'MASTER':
        return key.master;
    }
  });
}
