import proxyaddr from 'proxy-addr';
import { z } from 'zod';

// The parsers of single environment variables that src/config.ts composes: each names its
// variable in the message of a bad value.

export const bool = (name: string, fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
      return z.NEVER;
    });

/** TRUST_PROXY: a boolean, a number of proxy hops, or proxy addresses/CIDR ranges (see README). */
export const trustProxy = z
  .string()
  .optional()
  .transform((v, ctx): boolean | number | string[] => {
    if (v === undefined || v.trim() === '') return false;
    const s = v.trim().toLowerCase();
    if (['true', 'yes', 'on'].includes(s)) return true;
    if (['false', 'no', 'off'].includes(s)) return false;
    if (/^\d{1,3}$/.test(s)) return Number(s);
    const entries = v.split(',').map((p) => p.trim());
    try {
      if (entries.some((p) => p === '' || /^\d+$/.test(p))) throw new Error('empty or bare number');
      proxyaddr.compile(entries);
      return entries;
    } catch {
      ctx.addIssue({ code: 'custom', message: `TRUST_PROXY must be true, false, a number of proxy hops, or comma-separated proxy addresses/CIDR ranges, got "${v}"` });
      return z.NEVER;
    }
  });

export const intList = (name: string, fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v === undefined || v.trim() === '' ? fallback : v;
      const parts = raw.split(',').map((p) => p.trim());
      const nums = parts.map(Number);
      if (parts.some((p) => p === '') || nums.some((n) => !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a comma-separated list of whole non-negative numbers, got "${v}"` });
        return z.NEVER;
      }
      return nums;
    });

export const int = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

export const url = (name: string, protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      try {
        const u = new URL(v);
        if (!protocols.includes(u.protocol)) throw new Error('protocol');
        return v;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a ${protocols.join(' or ')}// URL` });
        return z.NEVER;
      }
    });

/**
 * Comma-separated URLs of these protocols, or [] when unset. A bad entry is named by its position,
 * not echoed: it may hold a password.
 */
export const urlList = (name: string, protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return [];
      const parts = v.split(',').map((p) => p.trim());
      const bad = parts.findIndex((p) => !hasProtocol(p, protocols));
      if (bad >= 0) {
        const which = parts.length > 1 ? `entry ${bad + 1} of ${parts.length}` : 'the value';
        ctx.addIssue({ code: 'custom', message: `${name} must be a comma-separated list of ${protocols.join(' or ')}// URLs; ${which} is not one` });
        return z.NEVER;
      }
      return parts;
    });

function hasProtocol(value: string, protocols: string[]): boolean {
  try {
    const u = new URL(value);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

export const ROLES = ['OWNER', 'ADMIN', 'AUDITOR'] as const;
export type Role = (typeof ROLES)[number];

/** OIDC_ROLE_MAP: "claim-value=ROLE,other=ROLE". */
export const roleMap = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const map: Record<string, Role> = {};
    if (v === undefined || v.trim() === '') return map;
    for (const pair of v.split(',')) {
      const eq = pair.lastIndexOf('=');
      const value = pair.slice(0, eq).trim();
      const role = pair.slice(eq + 1).trim();
      if (eq <= 0 || !value || !(ROLES as readonly string[]).includes(role)) {
        ctx.addIssue({ code: 'custom', message: `OIDC_ROLE_MAP must be a comma-separated list of value=ROLE (ROLE one of ${ROLES.join(', ')}), got "${pair.trim()}"` });
        return z.NEVER;
      }
      map[value] = role as Role;
    }
    return map;
  });

/** `host:port,...` (IPv6 as [addr]:port), or undefined when unset. */
export const hostPorts = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const out: { host: string; port: number }[] = [];
      for (const part of v.split(',').map((p) => p.trim())) {
        const m = part.match(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/);
        const port = m ? Number(m[2]) : 0;
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({ code: 'custom', message: `${name} must be a comma-separated list of host:port, got "${part}"` });
          return z.NEVER;
        }
        out.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
      }
      return out;
    });
