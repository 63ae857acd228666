import { EventEmitter } from 'node:events';

// In-process signal that keys changed (updated, revoked, rotated, expired). The verify cache listens
// and the cross-instance invalidation relays it over Redis. Emitted after the transaction commits.
export const keyChanges = new EventEmitter();
keyChanges.setMaxListeners(100);

export function announceKeyChanges(keyIds: readonly string[]): void {
  if (keyIds.length > 0) keyChanges.emit('changed', keyIds);
}
