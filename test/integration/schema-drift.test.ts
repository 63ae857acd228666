import { Client } from 'pg';
import { getDatamodel } from '../../src/generated/pothos-types';

// Migrations are hand-written SQL (the Prisma migration engine is a native download this network
// does not allow). This test holds them to prisma/schema.prisma: after applying every migration,
// each model field has its column with a compatible type and nullability, and each implicit
// many-to-many relation has its join table.

const TYPES: Record<string, string[]> = {
  String: ['text', 'uuid', 'character varying'],
  Int: ['integer'],
  BigInt: ['bigint'],
  Float: ['double precision'],
  Boolean: ['boolean'],
  DateTime: ['timestamp without time zone', 'timestamp with time zone'],
  Json: ['jsonb'],
};
const LIST_TYPES: Record<string, string[]> = { String: ['_text', '_uuid'], Int: ['_int4'] };

let db: Client;
let columns: Map<string, { data_type: string; udt_name: string; is_nullable: string }>;
let tables: Set<string>;

beforeAll(async () => {
  db = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await db.connect();
  const cols = await db.query(`SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`);
  columns = new Map(cols.rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
  const t = await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
  tables = new Set(t.rows.map((r) => r.table_name));
});
afterAll(() => db.end());

const models = Object.entries(getDatamodel().datamodel.models);

test.each(models.map(([name]) => [name]))('model %s matches its table', (name) => {
  const model = getDatamodel().datamodel.models[name];
  expect(tables.has(name)).toBe(true);
  const problems: string[] = [];
  for (const f of model.fields) {
    if (f.kind === 'object') continue;
    const col = columns.get(`${name}.${f.name}`);
    if (!col) {
      problems.push(`${name}.${f.name}: no column`);
      continue;
    }
    if (f.isList) {
      const ok = (LIST_TYPES[f.type] ?? []).includes(col.udt_name) || col.udt_name === `_${f.type}`;
      if (col.data_type !== 'ARRAY' || !ok) problems.push(`${name}.${f.name}: list of ${f.type} but column is ${col.data_type} ${col.udt_name}`);
    } else if (f.kind === 'enum') {
      if (col.udt_name !== f.type) problems.push(`${name}.${f.name}: enum ${f.type} but column is ${col.udt_name}`);
    } else if (!(TYPES[f.type] ?? []).includes(col.data_type)) {
      problems.push(`${name}.${f.name}: ${f.type} but column is ${col.data_type}`);
    }
    if (!f.isList && f.isRequired !== (col.is_nullable === 'NO')) problems.push(`${name}.${f.name}: required=${f.isRequired} but nullable=${col.is_nullable}`);
  }
  const fieldNames = new Set(model.fields.filter((f) => f.kind !== 'object').map((f) => f.name));
  for (const key of columns.keys()) {
    const [table, column] = key.split('.');
    if (table === name && !fieldNames.has(column)) problems.push(`${name}.${column}: column without a field`);
  }
  expect(problems).toEqual([]);
});

test('every implicit many-to-many relation has its join table', () => {
  const joins = new Set<string>();
  for (const [, model] of models) {
    for (const f of model.fields) {
      if (f.kind !== 'object' || !f.isList || (f.relationFromFields?.length ?? 0) > 0) continue;
      const other = getDatamodel().datamodel.models[f.type];
      const back = other.fields.find((o) => o.relationName === f.relationName && o !== f);
      if (back?.isList) joins.add(`_${f.relationName}`);
    }
  }
  expect(joins.size).toBeGreaterThan(0);
  for (const j of joins) expect([j, tables.has(j)]).toEqual([j, true]);
});
