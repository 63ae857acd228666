import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { listenForIds, publishIds } from '../infra/id-channel';
import { targetInvalidationChannel } from '../infra/redis-keys';
import type { TargetDirectory } from './targets';

// An agent's or workflow's new upstream URL reaches every instance's gateway at once: the
// instance that made the change drops its cached upstream and publishes on Redis; the others drop
// theirs on the message. (Group and workflow membership lives in the resolved keys: changing it
// invalidates the keys scoped there through the key channel instead.)

const targetChanges = new EventEmitter();
targetChanges.setMaxListeners(100);

export type TargetRef = `agent:${string}` | `workflow:${string}`;

/** After the transaction commits: these targets' upstreams changed. */
export function announceTargetChanges(targets: readonly TargetRef[]): void {
  if (targets.length > 0) targetChanges.emit('changed', targets);
}

export async function wireTargetInvalidation(opts: { targets: Pick<TargetDirectory, 'forgetUpstreams'>; publisher: Redis; subscriber: Redis; prefix: string }): Promise<() => void> {
  const channel = targetInvalidationChannel(opts.prefix);
  const onLocal = (targets: TargetRef[]) => {
    opts.targets.forgetUpstreams(targets);
    publishIds(opts.publisher, channel, targets, 'an upstream change');
  };
  // After a reconnect, messages may have been missed: read every upstream again.
  const onReady = () => opts.targets.forgetUpstreams('all');
  targetChanges.on('changed', onLocal);
  const stopListening = await listenForIds(opts.subscriber, channel, (targets) => opts.targets.forgetUpstreams(targets), 'upstream change');
  opts.subscriber.on('ready', onReady);
  return () => {
    targetChanges.off('changed', onLocal);
    stopListening();
    opts.subscriber.off('ready', onReady);
  };
}
