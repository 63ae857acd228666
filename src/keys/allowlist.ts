import { parseAllowlistEntry } from '../access/ip';
import { badInput } from '../infra/errors';
import { isHostnameEntry, sharedHostnameResolver } from '../infra/hostnames';
import { normalizeIpAllowlist } from './settings';

/**
 * Hostnames in an IP allowlist must resolve when they are set (refused otherwise: a name that
 * does not resolve would silently deny every request). Checked before any transaction opens.
 */
export async function assertHostnamesResolve(list: string[] | null | undefined): Promise<void> {
  if (!list) return;
  // Malformed entries are refused by their shape first, without any DNS lookup.
  normalizeIpAllowlist('input.ipAllowlist', list);
  const resolver = sharedHostnameResolver();
  await Promise.all(
    list.map(async (raw, i) => {
      const entry = raw.trim();
      if (parseAllowlistEntry(entry).ok || !isHostnameEntry(entry)) return;
      const addresses = await resolver.lookup(entry).catch(() => []);
      if (addresses.length === 0) throw badInput(`input.ipAllowlist[${i}]`, `hostname "${entry}" does not resolve to any address`);
    }),
  );
}
