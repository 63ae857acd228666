import type { Permission } from '../../src/generated/prisma/enums';
import { checks, decide, type DecisionKey, type VerifyCode, type VerifyRequest } from '../../src/access/decide';
import { parseAllowlistEntry, type IpRange } from '../../src/access/ip';
import type { ResolvedLink } from '../../src/access/resolved-key';
import type { ScopeRule } from '../../src/access/scope';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const ACCOUNT = 'acc-1';
const OTHER = 'acc-2';
const AGENT_A = '11111111-1111-4111-8111-111111111111';
const AGENT_B = '22222222-2222-4222-8222-222222222222';
const AGENT_C = '33333333-3333-4333-8333-333333333333';
const FLOW_1 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const FLOW_2 = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

function ips(...entries: string[]): IpRange[] {
  return entries.map((e) => {
    const p = parseAllowlistEntry(e);
    if (!p.ok) throw new Error(`test setup: ${e}`);
    return p.range;
  });
}

let linkCounter = 0;
function link(over: Partial<ResolvedLink> = {}): ResolvedLink {
  linkCounter++;
  return {
    id: `k${linkCounter}`,
    status: 'ACTIVE',
    expiresAt: null,
    graceEndsAt: null,
    permission: 'FULL_ACCESS',
    scope: { kind: 'ALL_AGENTS' },
    ipRanges: [],
    ipHosts: [],
    accessWindows: [],
    allowedCountries: [],
    condition: null,
    ...over,
  };
}

/** A key whose chain is [key, parent, grandparent, ...], each given as overrides of an unrestricted link. */
function keyWith(...chain: Partial<ResolvedLink>[]): DecisionKey {
  const links = (chain.length ? chain : [{}]).map(link);
  return { accountId: ACCOUNT, type: 'PRODUCTION', chain: links, metadata: null };
}

/** A chain of `depth` unrestricted keys with `over` applied to the link at `at` (0 = the key). */
function deepKey(depth: number, at: number, over: Partial<ResolvedLink>): DecisionKey {
  return keyWith(...Array.from({ length: depth }, (_, i) => (i === at ? over : {})));
}

function req(over: Partial<VerifyRequest> = {}): VerifyRequest {
  return { permission: 'READ_ONLY', ...over };
}

const toAgent = (agentId: string, targetAccountId: string | undefined = ACCOUNT) => ({ agentId, targetAccountId });
const toFlow = (workflowId: string, targetAccountId: string | undefined = ACCOUNT) => ({ workflowId, targetAccountId });

const single: ScopeRule = { kind: 'SINGLE_AGENT', agentId: AGENT_A };
const group: ScopeRule = { kind: 'AGENT_GROUP', agentIds: new Set([AGENT_A, AGENT_B]) };
const workflow: ScopeRule = { kind: 'WORKFLOW', workflowIds: new Set([FLOW_1]), agentIds: new Set([AGENT_A, AGENT_C]) };

type Row = [string, DecisionKey | null, VerifyRequest, VerifyCode];

describe('decide: one row per verify code', () => {
  test.each<Row>([
    ['a missing key is NOT_FOUND', null, req(), 'NOT_FOUND'],
    ['a missing key is NOT_FOUND whatever is asked', null, req({ permission: 'FULL_ACCESS', ...toAgent(AGENT_A, OTHER) }), 'NOT_FOUND'],
    ['an active unrestricted key is VALID', keyWith(), req(), 'VALID'],
    ['an active key expiring later is VALID', keyWith({ expiresAt: NOW + 1 }), req(), 'VALID'],

    ['a key past its expiry is EXPIRED', keyWith({ expiresAt: NOW - HOUR }), req(), 'EXPIRED'],
    ['a key expiring exactly now is EXPIRED', keyWith({ expiresAt: NOW }), req(), 'EXPIRED'],
    ['a key with status EXPIRED is EXPIRED even with a future expiresAt', keyWith({ status: 'EXPIRED', expiresAt: NOW + HOUR }), req(), 'EXPIRED'],
    ['a key with status EXPIRED and no expiresAt is EXPIRED', keyWith({ status: 'EXPIRED' }), req(), 'EXPIRED'],

    ['a revoked key is REVOKED', keyWith({ status: 'REVOKED' }), req(), 'REVOKED'],
    ['a rotating key within its grace period is VALID', keyWith({ status: 'ROTATING', graceEndsAt: NOW + HOUR }), req(), 'VALID'],
    ['a rotating key one millisecond before grace ends is VALID', keyWith({ status: 'ROTATING', graceEndsAt: NOW + 1 }), req(), 'VALID'],
    ['a rotating key whose grace ends exactly now is REVOKED', keyWith({ status: 'ROTATING', graceEndsAt: NOW }), req(), 'REVOKED'],
    ['a rotating key after its grace period is REVOKED', keyWith({ status: 'ROTATING', graceEndsAt: NOW - HOUR }), req(), 'REVOKED'],
    ['a rotating key with a zero grace period (ended at rotation) is REVOKED', keyWith({ status: 'ROTATING', graceEndsAt: NOW - 1 }), req(), 'REVOKED'],

    ['a SINGLE_AGENT key asked for its agent is VALID', keyWith({ scope: single }), req(toAgent(AGENT_A)), 'VALID'],
    ['a SINGLE_AGENT key asked for another agent is OUT_OF_SCOPE', keyWith({ scope: single }), req(toAgent(AGENT_B)), 'OUT_OF_SCOPE'],
    ['a SINGLE_AGENT key asked for a workflow is OUT_OF_SCOPE', keyWith({ scope: single }), req(toFlow(FLOW_1)), 'OUT_OF_SCOPE'],
    ['a SINGLE_AGENT key asked for its agent id in another account is OUT_OF_SCOPE', keyWith({ scope: single }), req(toAgent(AGENT_A, OTHER)), 'OUT_OF_SCOPE'],
    ['an AGENT_GROUP key asked for a member is VALID', keyWith({ scope: group }), req(toAgent(AGENT_B)), 'VALID'],
    ['an AGENT_GROUP key asked for a non-member is OUT_OF_SCOPE', keyWith({ scope: group }), req(toAgent(AGENT_C)), 'OUT_OF_SCOPE'],
    ['an AGENT_GROUP key asked for a member in another account is OUT_OF_SCOPE', keyWith({ scope: group }), req(toAgent(AGENT_A, OTHER)), 'OUT_OF_SCOPE'],
    ['a WORKFLOW key asked for its workflow is VALID', keyWith({ scope: workflow }), req(toFlow(FLOW_1)), 'VALID'],
    ['a WORKFLOW key asked for an agent of its workflow is VALID', keyWith({ scope: workflow }), req(toAgent(AGENT_C)), 'VALID'],
    ['a WORKFLOW key asked for another workflow is OUT_OF_SCOPE', keyWith({ scope: workflow }), req(toFlow(FLOW_2)), 'OUT_OF_SCOPE'],
    ['a WORKFLOW key asked for an agent outside its workflows is OUT_OF_SCOPE', keyWith({ scope: workflow }), req(toAgent(AGENT_B)), 'OUT_OF_SCOPE'],
    ['a WORKFLOW key asked for its workflow id in another account is OUT_OF_SCOPE', keyWith({ scope: workflow }), req(toFlow(FLOW_1, OTHER)), 'OUT_OF_SCOPE'],
    ['an ALL_AGENTS key asked for any agent of its account is VALID', keyWith(), req(toAgent(AGENT_C)), 'VALID'],
    ['an ALL_AGENTS key asked for an agent of another account is OUT_OF_SCOPE', keyWith(), req(toAgent(AGENT_A, OTHER)), 'OUT_OF_SCOPE'],
    ['an ALL_AGENTS key asked for a workflow of another account is OUT_OF_SCOPE', keyWith(), req(toFlow(FLOW_1, OTHER)), 'OUT_OF_SCOPE'],
    ['an ALL_AGENTS key asked for an agent that does not exist is OUT_OF_SCOPE', keyWith(), req({ agentId: AGENT_A }), 'OUT_OF_SCOPE'],

    ['an IP-restricted key from an allowed address is VALID', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ip: '10.1.2.3' }), 'VALID'],
    ['an IP-restricted key from an allowed IPv4-mapped address is VALID', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ip: '::ffff:10.1.2.3' }), 'VALID'],
    ['an IP-restricted key from an allowed IPv6 address is VALID', keyWith({ ipRanges: ips('2001:db8::/32') }), req({ ip: '2001:db8::9' }), 'VALID'],
    ['an IP-restricted key from another address is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ip: '192.168.0.1' }), 'IP_NOT_ALLOWED'],
    ['an IP-restricted key without an ip is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('10.0.0.0/8') }), req(), 'IP_NOT_ALLOWED'],
    ['an IP-restricted key with an empty ip is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ip: '' }), 'IP_NOT_ALLOWED'],
    ['an IP-restricted key with a malformed ip is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ip: '10.1' }), 'IP_NOT_ALLOWED'],
    ['an IPv4-restricted key from an IPv6 address is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('0.0.0.0/0') }), req({ ip: '2001:db8::1' }), 'IP_NOT_ALLOWED'],
    ['a key without an IP list and without an ip is VALID', keyWith(), req(), 'VALID'],
  ])('%s', (_label, key, request, expected) => {
    expect(decide(key, request, NOW)).toBe(expected);
  });
});

describe('decide: INSUFFICIENT_PERMISSIONS for each level pair', () => {
  const LEVELS: Permission[] = ['READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS'];
  const rows = LEVELS.flatMap((held, h) => LEVELS.map((asked, a) => [held, asked, (h >= a ? 'VALID' : 'INSUFFICIENT_PERMISSIONS') as VerifyCode] as const));

  test.each(rows)('a %s key asked for %s answers %s', (held, asked, expected) => {
    expect(decide(keyWith({ permission: held }), req({ permission: asked }), NOW)).toBe(expected);
  });
});

describe('decide: checks run in the order the README lists', () => {
  // README, Verification and the gateway: the checks run in the order listed there.
  const API_ORDER: VerifyCode[] = [
    'EXPIRED',
    'REVOKED',
    'INSUFFICIENT_PERMISSIONS',
    'OUT_OF_SCOPE',
    'IP_NOT_ALLOWED',
    'OUTSIDE_ACCESS_WINDOW',
    'COUNTRY_NOT_ALLOWED',
    'CONDITION_FAILED',
    'RATE_LIMITED',
    'QUOTA_EXCEEDED',
    'BANDWIDTH_EXCEEDED',
  ];

  test('the policy checks start with EXPIRED, REVOKED, INSUFFICIENT_PERMISSIONS, OUT_OF_SCOPE, IP_NOT_ALLOWED', () => {
    expect(checks.map(([code]) => code).slice(0, 5)).toEqual(['EXPIRED', 'REVOKED', 'INSUFFICIENT_PERMISSIONS', 'OUT_OF_SCOPE', 'IP_NOT_ALLOWED']);
  });

  test('every policy check comes in the order the README lists the codes, each once', () => {
    const codes = checks.map(([code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual(API_ORDER.filter((c) => codes.includes(c)));
    expect(codes.every((c) => API_ORDER.includes(c))).toBe(true);
  });

  const everythingWrong = {
    expiresAt: NOW - HOUR,
    status: 'REVOKED' as const,
    permission: 'READ_ONLY' as const,
    scope: single,
    ipRanges: ips('10.0.0.0/8'),
  };
  const badRequest = req({ permission: 'FULL_ACCESS', ...toAgent(AGENT_B), ip: '192.168.0.1' });

  test.each<Row>([
    ['an expired AND revoked key answers EXPIRED', keyWith({ expiresAt: NOW - HOUR, status: 'REVOKED' }), req(), 'EXPIRED'],
    ['an expired AND rotated-out key answers EXPIRED', keyWith({ expiresAt: NOW - HOUR, status: 'ROTATING', graceEndsAt: NOW - HOUR }), req(), 'EXPIRED'],
    ['a key failing every check answers EXPIRED', keyWith(everythingWrong), badRequest, 'EXPIRED'],
    ['a revoked key failing every later check answers REVOKED', keyWith({ ...everythingWrong, expiresAt: null }), badRequest, 'REVOKED'],
    ['a rotated-out key asked for too much answers REVOKED', keyWith({ status: 'ROTATING', graceEndsAt: NOW - 1, permission: 'READ_ONLY' }), req({ permission: 'MANAGE' }), 'REVOKED'],
    ['a live key lacking permission, out of scope and from a wrong IP answers INSUFFICIENT_PERMISSIONS', keyWith({ ...everythingWrong, expiresAt: null, status: 'ACTIVE' }), badRequest, 'INSUFFICIENT_PERMISSIONS'],
    ['a key out of scope and from a wrong IP answers OUT_OF_SCOPE', keyWith({ ...everythingWrong, expiresAt: null, status: 'ACTIVE', permission: 'FULL_ACCESS' }), badRequest, 'OUT_OF_SCOPE'],
    ['a key asked for another account target from a wrong IP answers OUT_OF_SCOPE', keyWith({ ipRanges: ips('10.0.0.0/8') }), req({ ...toAgent(AGENT_A, OTHER), ip: '192.168.0.1' }), 'OUT_OF_SCOPE'],
    ['a key with only a wrong IP answers IP_NOT_ALLOWED', keyWith({ ...everythingWrong, expiresAt: null, status: 'ACTIVE', permission: 'FULL_ACCESS', scope: { kind: 'ALL_AGENTS' } }), badRequest, 'IP_NOT_ALLOWED'],
    ['a revoked key whose parent expired answers EXPIRED', keyWith({ status: 'REVOKED' }, { expiresAt: NOW - HOUR }), req(), 'EXPIRED'],
    ['an expired key whose parent was revoked answers EXPIRED', keyWith({ expiresAt: NOW - HOUR }, { status: 'REVOKED' }), req(), 'EXPIRED'],
    ['a key lacking permission whose parent was revoked answers REVOKED', keyWith({ permission: 'READ_ONLY' }, { status: 'REVOKED' }), req({ permission: 'EXECUTE' }), 'REVOKED'],
    [
      'a key out of scope whose parent lacks the permission answers INSUFFICIENT_PERMISSIONS',
      keyWith({ scope: single }, { permission: 'READ_ONLY' }),
      req({ permission: 'EXECUTE', ...toAgent(AGENT_B) }),
      'INSUFFICIENT_PERMISSIONS',
    ],
  ])('%s', (_label, key, request, expected) => {
    expect(decide(key, request, NOW)).toBe(expected);
  });
});

describe('decide: an ancestor’s narrower settings apply to the child', () => {
  test.each<Row>([
    ['a parent READ_ONLY caps a FULL_ACCESS child: EXECUTE is refused', keyWith({ permission: 'FULL_ACCESS' }, { permission: 'READ_ONLY' }), req({ permission: 'EXECUTE' }), 'INSUFFICIENT_PERMISSIONS'],
    ['a parent READ_ONLY still lets the child read', keyWith({ permission: 'FULL_ACCESS' }, { permission: 'READ_ONLY' }), req({ permission: 'READ_ONLY' }), 'VALID'],
    ['a root EXECUTE 20 levels up caps MANAGE', deepKey(21, 20, { permission: 'EXECUTE' }), req({ permission: 'MANAGE' }), 'INSUFFICIENT_PERMISSIONS'],
    ['a root EXECUTE 20 levels up still allows EXECUTE', deepKey(21, 20, { permission: 'EXECUTE' }), req({ permission: 'EXECUTE' }), 'VALID'],
    ['a middle ancestor MANAGE caps FULL_ACCESS', deepKey(10, 5, { permission: 'MANAGE' }), req({ permission: 'FULL_ACCESS' }), 'INSUFFICIENT_PERMISSIONS'],

    ['a parent SINGLE_AGENT scope stops an ALL_AGENTS child reaching another agent', keyWith({}, { scope: single }), req(toAgent(AGENT_B)), 'OUT_OF_SCOPE'],
    ['a parent SINGLE_AGENT scope lets the child reach that agent', keyWith({}, { scope: single }), req(toAgent(AGENT_A)), 'VALID'],
    ['a parent WORKFLOW scope stops an ALL_AGENTS child reaching another workflow', keyWith({}, { scope: workflow }), req(toFlow(FLOW_2)), 'OUT_OF_SCOPE'],
    ['a parent AGENT_GROUP scope stops a child reaching a non-member', keyWith({}, { scope: group }), req(toAgent(AGENT_C)), 'OUT_OF_SCOPE'],
    ['a child SINGLE_AGENT under an AGENT_GROUP parent reaches its agent', keyWith({ scope: single }, { scope: group }), req(toAgent(AGENT_A)), 'VALID'],
    ['a child SINGLE_AGENT under an AGENT_GROUP parent does not reach the other member', keyWith({ scope: single }, { scope: group }), req(toAgent(AGENT_B)), 'OUT_OF_SCOPE'],
    ['a root SINGLE_AGENT scope 20 levels up applies', deepKey(21, 20, { scope: single }), req(toAgent(AGENT_B)), 'OUT_OF_SCOPE'],

    ['a parent IP list applies to a child without one', keyWith({}, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '192.168.0.1' }), 'IP_NOT_ALLOWED'],
    ['a parent IP list lets a child through from an allowed address', keyWith({}, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '10.9.9.9' }), 'VALID'],
    ['a parent IP list refuses a child request without an ip', keyWith({}, { ipRanges: ips('10.0.0.0/8') }), req(), 'IP_NOT_ALLOWED'],
    ['both IP lists must allow: inside the child /16 and the parent /8 is VALID', keyWith({ ipRanges: ips('10.1.0.0/16') }, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '10.1.2.3' }), 'VALID'],
    ['both IP lists must allow: inside the parent /8 only is IP_NOT_ALLOWED', keyWith({ ipRanges: ips('10.1.0.0/16') }, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '10.2.0.1' }), 'IP_NOT_ALLOWED'],
    ['both IP lists must allow: a child wider than its parent is still capped', keyWith({ ipRanges: ips('0.0.0.0/0') }, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '8.8.8.8' }), 'IP_NOT_ALLOWED'],
    ['a root IP list 20 levels up applies', deepKey(21, 20, { ipRanges: ips('10.0.0.0/8') }), req({ ip: '192.168.0.1' }), 'IP_NOT_ALLOWED'],

    ['an expired parent makes a never-expiring child EXPIRED', keyWith({ expiresAt: null }, { expiresAt: NOW - HOUR }), req(), 'EXPIRED'],
    ['a parent expiring exactly now makes the child EXPIRED', keyWith({ expiresAt: NOW + HOUR }, { expiresAt: NOW }), req(), 'EXPIRED'],
    ['a parent with status EXPIRED makes the child EXPIRED', keyWith({}, { status: 'EXPIRED' }), req(), 'EXPIRED'],
    ['an expired root 20 levels up makes the key EXPIRED', deepKey(21, 20, { expiresAt: NOW - 1 }), req(), 'EXPIRED'],
    ['a parent expiring later leaves the child VALID', keyWith({}, { expiresAt: NOW + HOUR }), req(), 'VALID'],

    ['a revoked parent makes the child REVOKED', keyWith({}, { status: 'REVOKED' }), req(), 'REVOKED'],
    ['a revoked root 20 levels up makes the key REVOKED', deepKey(21, 20, { status: 'REVOKED' }), req(), 'REVOKED'],
    ['a parent rotated out after grace makes the child REVOKED', keyWith({}, { status: 'ROTATING', graceEndsAt: NOW - 1 }), req(), 'REVOKED'],
    ['a parent rotating within grace leaves the child VALID', keyWith({}, { status: 'ROTATING', graceEndsAt: NOW + HOUR }), req(), 'VALID'],
  ])('%s', (_label, key, request, expected) => {
    expect(decide(key, request, NOW)).toBe(expected);
  });
});

describe('decide: time', () => {
  test('the same key is VALID before its expiry and EXPIRED after it', () => {
    const key = keyWith({ expiresAt: NOW });
    expect(decide(key, req(), NOW - 1)).toBe('VALID');
    expect(decide(key, req(), NOW)).toBe('EXPIRED');
    expect(decide(key, req(), NOW + HOUR)).toBe('EXPIRED');
  });

  test('the same rotating key is VALID during grace and REVOKED after it', () => {
    const key = keyWith({ status: 'ROTATING', graceEndsAt: NOW });
    expect(decide(key, req(), NOW - 1)).toBe('VALID');
    expect(decide(key, req(), NOW)).toBe('REVOKED');
  });

  test('deciding does not change the key snapshot', () => {
    const key = keyWith({ expiresAt: NOW - 1, ipRanges: ips('10.0.0.0/8') }, { status: 'REVOKED' });
    const before = JSON.stringify(key, (_k, v) => (v instanceof Set ? [...v] : v));
    decide(key, req({ ip: '1.2.3.4' }), NOW);
    expect(JSON.stringify(key, (_k, v) => (v instanceof Set ? [...v] : v))).toBe(before);
  });
});
