import { execFile } from 'node:child_process';
import { z } from 'zod';
import { ForwardOverridesSchema, LeakedRequestSchema, VerifyRequestSchema } from '../../src/verify/schemas';
import { startHarness, type Harness } from '../helpers/harness';

// GET /openapi.json: a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator),
// whose request schemas are the zod schemas the handlers validate with, and whose every named
// example request is sent to a real Keywarden and answered with the status and body documented
// under the same name.

let h: Harness;
let doc: any;

beforeAll(async () => {
  h = await startHarness();
  const res = await fetch(`${h.url}/openapi.json`);
  expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8']);
  doc = await res.json();
});
afterAll(() => h.close());

/** The validator is ESM only: it runs in a node child process, reading the document on stdin. */
function validateWithLibrary(document: unknown): Promise<{ valid: boolean; version: string; errors?: unknown }> {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const validator = new Validator();
    const res = await validator.validate(JSON.parse(text));
    console.log(JSON.stringify({ valid: res.valid, version: validator.version, errors: res.errors }));`;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))));
    child.stdin!.end(JSON.stringify(document));
  });
}

test('the document is valid OpenAPI 3.1 and describes every REST endpoint with one error envelope', async () => {
  const result = await validateWithLibrary(doc);
  expect(result).toEqual({ valid: true, version: '3.1', errors: undefined });
  const { info: _, ...withoutInfo } = doc;
  expect((await validateWithLibrary(withoutInfo)).valid).toBe(false); // the validator can fail
  expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/openapi.json', '/readyz', '/v1/agents/{agentId}/{path}', '/v1/auth/forward', '/v1/keys/leaked', '/v1/keys/verify', '/v1/workflows/{workflowId}/{path}']);
  expect(Object.keys(doc.paths['/v1/auth/forward']).sort()).toEqual(['delete', 'get', 'head', 'patch', 'post', 'put']);
  // Every 4xx/5xx answer of the REST endpoints is the envelope (429 of verify adds the code at the top).
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const op of Object.values<any>(item)) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400 || p === '/readyz') continue;
        const ref = response.content?.['application/json']?.schema?.$ref;
        expect([p, status, ref]).toEqual([p, status, expect.stringMatching(/^#\/components\/schemas\/(Error|TooManyFailedAttempts)$/)]);
      }
    }
  }
});

test("the request schemas are the handlers' own zod schemas", () => {
  const asJson = (s: z.ZodType) => {
    const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return rest;
  };
  expect(doc.components.schemas.VerifyRequest).toEqual(asJson(VerifyRequestSchema));
  expect(doc.components.schemas.LeakedRequest).toEqual(asJson(LeakedRequestSchema));
  const query = doc.paths['/v1/auth/forward'].get.parameters.filter((p: any) => p.in === 'query');
  expect(Object.fromEntries(query.map((p: any) => [p.name, p.schema]))).toEqual((asJson(ForwardOverridesSchema) as any).properties);
});

interface Example {
  operation: string;
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  query: URLSearchParams;
  body?: unknown;
  status: string;
  expected: unknown;
}

/** Every named example: the request built from the body and parameter examples of that name, and the response documented under it. */
function examples(): Example[] {
  const out: Example[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const names = new Set<string>(Object.keys(op.requestBody?.content?.['application/json']?.examples ?? {}));
      for (const p of op.parameters ?? []) for (const n of Object.keys(p.examples ?? {})) names.add(n);
      // An operation without a body or parameters: its response examples are plain requests.
      if (!op.requestBody && !op.parameters) for (const response of Object.values<any>(op.responses)) for (const n of Object.keys(response.content?.['application/json']?.examples ?? {})) names.add(n);
      for (const name of names) {
        const example: Example = { operation: op.operationId, name, method: method.toUpperCase(), path: template, headers: {}, query: new URLSearchParams(), status: '', expected: undefined };
        for (const p of op.parameters ?? []) {
          const value = p.examples?.[name]?.value;
          if (value === undefined) continue;
          if (p.in === 'header') example.headers[p.name] = value;
          else if (p.in === 'query') example.query.set(p.name, value);
          else if (p.in === 'path') example.path = example.path.replace(`{${p.name}}`, encodeURIComponent(value));
        }
        example.body = op.requestBody?.content?.['application/json']?.examples?.[name]?.value;
        const documented = Object.entries<any>(op.responses).filter(([, r]) => r.content?.['application/json']?.examples?.[name]);
        expect([op.operationId, name, documented.length]).toEqual([op.operationId, name, 1]);
        example.status = documented[0][0];
        example.expected = documented[0][1].content['application/json'].examples[name].value;
        out.push(example);
      }
    }
  }
  return out;
}

test('every documented example request is answered as documented', async () => {
  const all = examples();
  expect(all.map((e) => `${e.operation}:${e.name}`).sort()).toEqual(
    [
      'verifyKey:unknownKey',
      'verifyKey:badPermission',
      'reportLeakedKeys:report',
      'reportLeakedKeys:noKeys',
      'forwardAuthGet:noKey',
      'forwardAuthGet:missingUri',
      'gatewayAgentGet:noKey',
      'gatewayWorkflowGet:noKey',
      'health:alive',
    ].sort(),
  );
  for (const e of all) {
    const query = e.query.toString();
    const res = await fetch(`${h.url}${e.path}${query ? `?${query}` : ''}`, {
      method: e.method,
      headers: { ...e.headers, ...(e.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: e.body !== undefined ? JSON.stringify(e.body) : undefined,
    });
    const text = await res.text();
    expect([e.operation, e.name, String(res.status), JSON.parse(text)]).toEqual([e.operation, e.name, e.status, e.expected]);
  }
});
