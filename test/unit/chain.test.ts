import { hashAuditEvent, type AuditRecordFields } from '../../src/audit/chain';

const base: AuditRecordFields = {
  accountId: 'acc-1',
  sequence: 7,
  action: 'key.update',
  actorKeyId: 'key-actor',
  targetType: 'ApiKey',
  targetId: 'key-target',
  ip: '203.0.113.7',
  before: { name: 'old', permission: 'READ_ONLY', limits: { perMinute: 60, windows: ['MINUTE'] } },
  after: { name: 'new', permission: 'EXECUTE', limits: { perMinute: 600, windows: ['MINUTE', 'HOUR'] } },
  createdAt: new Date('2030-01-15T12:00:00.000Z'),
  prevHash: 'a'.repeat(64),
};

describe('hashAuditEvent', () => {
  test('is a 64-character lower-case hex SHA-256', () => {
    expect(hashAuditEvent(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('is deterministic: the same event hashes the same, also from a copy', () => {
    const copy: AuditRecordFields = JSON.parse(JSON.stringify(base));
    copy.createdAt = new Date(base.createdAt.getTime());
    expect(hashAuditEvent(base)).toBe(hashAuditEvent(base));
    expect(hashAuditEvent(copy)).toBe(hashAuditEvent(base));
  });

  test('does not depend on the key order of before and after (at every depth)', () => {
    const reordered: AuditRecordFields = {
      ...base,
      before: { limits: { windows: ['MINUTE'], perMinute: 60 }, permission: 'READ_ONLY', name: 'old' },
      after: { permission: 'EXECUTE', limits: { windows: ['MINUTE', 'HOUR'], perMinute: 600 }, name: 'new' },
    };
    expect(hashAuditEvent(reordered)).toBe(hashAuditEvent(base));
  });

  test('does not depend on the key order of the record itself', () => {
    const shuffled = Object.fromEntries(Object.entries(base).reverse()) as unknown as AuditRecordFields;
    expect(hashAuditEvent(shuffled)).toBe(hashAuditEvent(base));
  });

  test('a missing before/after hashes like null', () => {
    const withUndefined = { ...base, before: undefined, after: undefined };
    const withNull = { ...base, before: null, after: null };
    expect(hashAuditEvent(withUndefined)).toBe(hashAuditEvent(withNull));
  });

  test.each<[string, Partial<AuditRecordFields>]>([
    ['sequence', { sequence: 8 }],
    ['accountId', { accountId: 'acc-2' }],
    ['action', { action: 'key.revoke' }],
    ['actorKeyId', { actorKeyId: 'key-other' }],
    ['actorKeyId (to null)', { actorKeyId: null }],
    ['targetType', { targetType: 'WebhookEndpoint' }],
    ['targetId', { targetId: 'key-other' }],
    ['targetId (to null)', { targetId: null }],
    ['ip', { ip: '203.0.113.8' }],
    ['ip (to null)', { ip: null }],
    ['before (a nested value)', { before: { ...(base.before as object), limits: { perMinute: 61, windows: ['MINUTE'] } } }],
    ['before (to null)', { before: null }],
    ['before (an empty object instead of null)', { before: {} }],
    ['after (a top-level value)', { after: { ...(base.after as object), name: 'newer' } }],
    ['after (array order)', { after: { ...(base.after as object), limits: { perMinute: 600, windows: ['HOUR', 'MINUTE'] } } }],
    ['after (an added key)', { after: { ...(base.after as object), extra: true } }],
    ['after (a number vs a string)', { after: { ...(base.after as object), limits: { perMinute: '600', windows: ['MINUTE', 'HOUR'] } } }],
    ['createdAt (by one millisecond)', { createdAt: new Date(base.createdAt.getTime() + 1) }],
    ['prevHash', { prevHash: 'b'.repeat(64) }],
    ['prevHash (to empty, the first event)', { prevHash: '' }],
  ])('changes when %s changes', (_label, change) => {
    expect(hashAuditEvent({ ...base, ...change })).not.toBe(hashAuditEvent(base));
  });

  test('swapping before and after changes the hash', () => {
    expect(hashAuditEvent({ ...base, before: base.after, after: base.before })).not.toBe(hashAuditEvent(base));
  });

  test('moving text between prevHash and a field does not collide', () => {
    const a = hashAuditEvent({ ...base, prevHash: 'x', action: 'key.update' });
    const b = hashAuditEvent({ ...base, prevHash: 'xkey.update', action: '' });
    expect(a).not.toBe(b);
  });

  test('a chain of events links: changing an early event changes every later hash', () => {
    const events = Array.from({ length: 5 }, (_, i) => ({ ...base, sequence: i + 1, action: `a${i}` }));
    const chainHashes = (list: AuditRecordFields[]) => {
      let prev = '';
      return list.map((e) => (prev = hashAuditEvent({ ...e, prevHash: prev })));
    };
    const original = chainHashes(events);
    const tampered = chainHashes(events.map((e, i) => (i === 1 ? { ...e, ip: '198.51.100.1' } : e)));
    expect(tampered[0]).toBe(original[0]);
    for (let i = 1; i < 5; i++) expect(tampered[i]).not.toBe(original[i]);
  });
});
