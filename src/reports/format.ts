import { clock } from '../infra/clock';
import { badInput } from '../infra/errors';
import { CsvWriter, type CsvValue } from './csv';

// One shape for every report: a fixed list of columns, rows added as they are read (page by
// page), then rendered as JSON (`{ ...meta, columns, rows }`) or as RFC 4180 CSV with the same
// columns. JSON rows carry exactly the CSV columns, so both formats list the same facts.

export const REPORT_FORMATS = ['JSON', 'CSV'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface Report {
  format: ReportFormat;
  generatedAt: Date;
  content: string;
  rowCount: number;
}

export type ReportValue = CsvValue | Record<string, unknown>;

/** Cursor batches for reading large accounts: no single query loads every row. */
export const REPORT_BATCH_SIZE = 1000;

export function assertReportFormat(format: unknown): ReportFormat {
  if (!REPORT_FORMATS.includes(format as ReportFormat)) throw badInput('format', `must be one of ${REPORT_FORMATS.join(', ')}`);
  return format as ReportFormat;
}

export function assertRange(from: Date, to: Date): void {
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw badInput('from', 'is not a valid date');
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw badInput('to', 'is not a valid date');
  if (from > to) throw badInput('from', 'must not be after to');
}

export class ReportBuilder<C extends string> {
  readonly generatedAt = clock.now();
  private readonly rows: Record<string, unknown>[] = [];
  private readonly csv?: CsvWriter<C>;
  private count = 0;

  constructor(
    readonly format: ReportFormat,
    private readonly columns: readonly C[],
  ) {
    if (format === 'CSV') this.csv = new CsvWriter(columns);
  }

  get rowCount(): number {
    return this.count;
  }

  add(row: Readonly<Record<C, ReportValue>>): void {
    this.count++;
    if (this.csv) {
      // Structured values (details, counts by code) become one field of JSON text.
      const flat = {} as Record<C, CsvValue>;
      for (const c of this.columns) {
        const v = row[c];
        flat[c] = v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : (v as CsvValue);
      }
      this.csv.add(flat);
      return;
    }
    const copy: Record<string, unknown> = {};
    for (const c of this.columns) copy[c] = row[c] instanceof Date ? (row[c] as Date).toISOString() : (row[c] ?? null);
    this.rows.push(copy);
  }

  /** `meta` goes at the top of the JSON document; CSV has only the rows. */
  finish(meta: Record<string, unknown> = {}): Report {
    const content = this.csv ? this.csv.toString() : JSON.stringify({ ...meta, generatedAt: this.generatedAt.toISOString(), columns: this.columns, rows: this.rows });
    return { format: this.format, generatedAt: this.generatedAt, content, rowCount: this.count };
  }
}
