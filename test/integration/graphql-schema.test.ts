import fs from 'node:fs';
import path from 'node:path';
import { printedSchema } from '../../src/graphql/schema';

// schema/schema.graphql is printed from the code and checked in (docs/layout.md); it must never be stale.

const file = path.join(__dirname, '..', '..', 'schema', 'schema.graphql');

function firstDifference(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    if (al[i] !== bl[i]) return `line ${i + 1}: checked in ${JSON.stringify(al[i] ?? '<end of file>')}, code prints ${JSON.stringify(bl[i] ?? '<end of file>')}`;
  }
  return 'no line differs';
}

test('schema/schema.graphql equals the schema printed from the code', () => {
  const printed = printedSchema();
  const checkedIn = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (checkedIn !== printed) {
    throw new Error(`schema/schema.graphql is stale: run \`npm run schema:print\` and commit the result (first difference at ${firstDifference(checkedIn, printed)})`);
  }
});

test('the printed schema holds the operations clients are promised', () => {
  const printed = printedSchema();
  for (const op of [
    'viewer: Viewer!',
    'key(id: ID!): ApiKey',
    'verifyAuditChain: AuditChainStatus!',
    'createKey(input: CreateKeyInput!): KeySecretPayload!',
    'updateKey(id: ID!, input: UpdateKeyInput!): ApiKey!',
    'revokeKey(id: ID!, reason: String): ApiKey!',
  ]) {
    expect(printed).toContain(op);
  }
});
