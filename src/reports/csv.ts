// RFC 4180 CSV: a header row, CRLF after every record, and a field quoted exactly when it holds a
// comma, a double quote, CR or LF (quotes inside are doubled). Small enough to own outright, which
// keeps the report code free of a stream library for what is a string join.
//
// Text that a spreadsheet would run as a formula (OWASP, CSV injection) is neutralized: a text
// field starting (after any spaces) with =, +, -, @, a tab, CR or LF, or their full-width forms,
// gets a leading single quote and is always quoted, so it opens as text. Numbers stay numbers.

export type CsvValue = string | number | boolean | Date | null | undefined;

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[ \u00a0]*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]/;

/** One field as it appears in a record. null and undefined are empty; Dates are ISO 8601 (UTC). */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' && FORMULA_START.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  const text = value instanceof Date ? value.toISOString() : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF included. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

/**
 * Builds a document from a fixed list of columns: every row contributes exactly these fields in
 * this order, so a missing property is an empty field, never a shifted column.
 */
export class CsvWriter<C extends string> {
  private readonly parts: string[];

  constructor(private readonly columns: readonly C[]) {
    if (columns.length === 0) throw new Error('a CSV document needs at least one column');
    this.parts = [csvRecord(columns)];
  }

  add(row: Readonly<Partial<Record<C, CsvValue>>>): void {
    this.parts.push(csvRecord(this.columns.map((c) => row[c])));
  }

  toString(): string {
    return this.parts.join('');
  }
}
