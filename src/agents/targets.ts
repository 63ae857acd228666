import { LRUCache } from 'lru-cache';
import type { Database } from '../infra/db';
import { isUuid } from '../infra/validation';

// Which account an agent or workflow belongs to. Ownership never changes, so known targets are
// cached for good; unknown ids only briefly (the agent may be created a moment later). Upstream
// URLs do change: an update drops them here and on every other instance (agents/invalidation).

const UNKNOWN = '';

export class TargetDirectory {
  private readonly agents = new LRUCache<string, string>({ max: 100_000 });
  private readonly workflows = new LRUCache<string, string>({ max: 100_000 });

  constructor(private readonly db: Database) {}

  private readonly upstreams = new LRUCache<string, { accountId: string; upstreamUrl: string | null }>({ max: 100_000, ttl: 30_000 });

  /** The account and upstream URL of a gateway target (cached briefly: upstreams may change). */
  async upstreamOf(kind: 'agent' | 'workflow', id: string): Promise<{ accountId: string; upstreamUrl: string | null } | undefined> {
    if (!isUuid(id)) return undefined;
    const key = `${kind}:${id.toLowerCase()}`;
    const hit = this.upstreams.get(key);
    if (hit) return hit;
    const where = { where: { id: id.toLowerCase() }, select: { accountId: true, upstreamUrl: true } };
    const row = kind === 'agent' ? await this.db.prisma.agent.findUnique(where) : await this.db.prisma.workflow.findUnique(where);
    if (row) this.upstreams.set(key, row);
    return row ?? undefined;
  }

  /** Drops the cached upstreams of these targets ("agent:<id>", "workflow:<id>"), or all of them. */
  forgetUpstreams(targets: readonly string[] | 'all'): void {
    if (targets === 'all') this.upstreams.clear();
    else for (const t of targets) this.upstreams.delete(t.toLowerCase());
  }

  async accountOf(kind: 'agent' | 'workflow', id: string): Promise<string | undefined> {
    if (!isUuid(id)) return undefined;
    const key = id.toLowerCase();
    const cache = kind === 'agent' ? this.agents : this.workflows;
    const hit = cache.get(key);
    if (hit !== undefined) return hit === UNKNOWN ? undefined : hit;
    const row =
      kind === 'agent' ? await this.db.prisma.agent.findUnique({ where: { id: key }, select: { accountId: true } }) : await this.db.prisma.workflow.findUnique({ where: { id: key }, select: { accountId: true } });
    cache.set(key, row?.accountId ?? UNKNOWN, row ? undefined : { ttl: 5_000 });
    return row?.accountId;
  }
}
