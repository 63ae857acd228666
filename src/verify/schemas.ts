import { z } from 'zod';
import type { Permission } from '../generated/prisma/enums';
import { parseIp } from '../access/ip';
import { PERMISSION_ORDER } from '../access/permission';
import { HttpError } from '../infra/http';

// The request bodies of the REST endpoints as zod schemas: the handlers validate with them, and
// GET /openapi.json is generated from them (one source of truth). Messages name the field at
// fault ("permission: must be one of ...").

const PERMISSIONS = PERMISSION_ORDER as [Permission, ...Permission[]];
const wholeNumber = (field: string) =>
  z
    .number({ error: 'must be a whole number of at least 0' })
    .int({ error: 'must be a whole number of at least 0' })
    .min(0, { error: 'must be a whole number of at least 0' })
    .max(Number.MAX_SAFE_INTEGER, { error: 'must be a whole number of at least 0' })
    .nullish()
    .meta({ description: field });
const idString = () => z.string({ error: 'must be a non-empty string id' }).min(1, { error: 'must be a non-empty string id' }).max(100, { error: 'must be a non-empty string id' });
const targetDescription = (what: string) => ({ description: `The ${what} the request is for (its scope is checked).` });
const targetId = (what: string) => idString().nullish().meta(targetDescription(what));

export const VerifyRequestSchema = z
  .object({
    key: z.string({ error: 'required, the API key to verify' }).min(1, { error: 'required, the API key to verify' }).meta({ description: 'The API key (secret) to verify.' }),
    agentId: targetId('agent'),
    workflowId: targetId('workflow'),
    permission: z
      .enum(PERMISSIONS, { error: `must be one of ${PERMISSION_ORDER.join(', ')}` })
      .nullish()
      .meta({ description: 'The permission level the request needs (default READ_ONLY).' }),
    ip: z
      .string({ error: 'must be an IPv4 or IPv6 address' })
      .transform((v, ctx) => {
        const parsed = parseIp(v);
        if (parsed) return parsed.toString();
        ctx.addIssue({ code: 'custom', message: 'must be an IPv4 or IPv6 address' });
        return z.NEVER;
      })
      .nullish()
      .meta({ description: "The end client's address (default: the caller's)." }),
    permissions: z
      .string({ error: 'must be a permission query string, e.g. "invoices.read AND (billing.* OR admin)"' })
      .nullish()
      .meta({ description: "A permission query over the key's effective permissions: names (a trailing .* matches a subtree), AND, OR, parentheses." }),
    cost: wholeNumber('Quota units to spend (default 1; 0 only checks).'),
    bytes: wholeNumber('Bytes to count against a bandwidth limit (default 0).'),
  })
  .refine((b) => !(b.agentId && b.workflowId), { error: 'give agentId or workflowId, not both' })
  .meta({ description: 'The body of POST /v1/keys/verify.' });

/** The auth URL's query of /v1/auth/forward (and Envoy's context extensions): overrides of the target. */
export const ForwardOverridesSchema = z
  .object({
    agentId: idString().optional().meta(targetDescription('agent')),
    workflowId: idString().optional().meta(targetDescription('workflow')),
    permission: z
      .enum(PERMISSIONS, { error: `must be one of ${PERMISSION_ORDER.join(', ')}` })
      .optional()
      .meta({ description: 'The permission level the request needs (default: from the original method).' }),
    permissions: z.string().optional().meta({ description: 'A permission query over permission strings (AND, OR, parentheses).' }),
  })
  .refine((b) => !(b.agentId && b.workflowId), { error: 'give agentId or workflowId, not both' });

const MAX_LEAKED_KEYS = 100;
const leakedText = (max: number, description: string) =>
  z
    .string({ error: `must be a non-empty string of at most ${max} characters` })
    .refine((v) => v.trim().length > 0 && v.length <= max, { error: `must be a non-empty string of at most ${max} characters` })
    .nullish()
    .meta({ description });

export const LeakedRequestSchema = z
  .object({
    keys: z
      .array(
        z
          .string({ error: 'must be a non-empty string of at most 200 characters' })
          .min(1, { error: 'must be a non-empty string of at most 200 characters' })
          .max(200, { error: 'must be a non-empty string of at most 200 characters' }),
        {
          error: 'required, an array of secrets',
        },
      )
      .min(1, { error: `must hold between 1 and ${MAX_LEAKED_KEYS} secrets` })
      .max(MAX_LEAKED_KEYS, { error: `must hold between 1 and ${MAX_LEAKED_KEYS} secrets` })
      .meta({ description: 'The secrets found (any text: those that are Keywarden keys are revoked).' }),
    source: leakedText(100, 'Where they were found (e.g. github).'),
    url: leakedText(2048, 'The page they were found on (http or https).').refine((v) => v == null || isHttpUrl(v.trim()), { error: 'must be an http or https URL' }),
  })
  .meta({ description: 'The body of POST /v1/keys/leaked.' });

function isHttpUrl(v: string): boolean {
  if (!URL.canParse(v)) return false;
  return ['http:', 'https:'].includes(new URL(v).protocol);
}

/** `field: message` for the first problem (keys[2]: ..., or the message alone for the whole body). */
function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  return where ? `${where}: ${issue.message}` : issue.message;
}

/** The body checked by `schema`, or a 400 BAD_REQUEST naming the field at fault. */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, 'BAD_REQUEST', firstProblem(parsed.error));
  return parsed.data;
}
