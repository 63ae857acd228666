import type { Database } from '../infra/db';
import { appendAudit } from '../audit/chain';
import { clock } from '../infra/clock';
import { KeywardenError } from '../infra/errors';
import { normalizeName } from '../infra/validation';
import { rotationDueAt } from './presets';
import { generateSecret, storedSecret } from './secret';
import { insertStoredKey } from './stored';
import { keySettingsView } from './view';

/** The first master key of a new account (bootstrap and first start). */
export async function createAccountWithMasterKey(db: Database, accountName: string): Promise<{ accountId: string; keyId: string; secret: string }> {
  const name = normalizeName('--account', accountName);
  const secret = generateSecret('root');
  const now = clock.now();
  try {
    return await db.prisma.$transaction(
      async (tx) => {
        const account = await tx.account.create({ data: { name, createdAt: now } });
        const key = await insertStoredKey(tx, {
          account: { connect: { id: account.id } },
          name: 'master',
          ...storedSecret(secret),
          type: 'PRODUCTION',
          master: true,
          permission: 'FULL_ACCESS',
          rotationDueAt: rotationDueAt({ type: 'PRODUCTION', permission: 'FULL_ACCESS', from: now }),
          createdAt: now,
        });
        await appendAudit(tx, { accountId: account.id, actorKeyId: null, action: 'account.create', targetType: 'Account', targetId: account.id, ip: null, after: { name } });
        await appendAudit(tx, { accountId: account.id, actorKeyId: null, action: 'key.create', targetType: 'ApiKey', targetId: key.id, ip: null, after: keySettingsView(key) });
        return { accountId: account.id, keyId: key.id, secret };
        // A one-off command: the embedded store on a busy machine can take longer than Prisma's default 5 s.
      },
      { timeout: 60_000 },
    );
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new KeywardenError('CONFLICT', `an account named "${name}" already exists`);
    throw err;
  }
}
