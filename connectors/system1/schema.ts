import { parse } from 'csv-parse/sync';
import { z } from 'zod';

/**
 * System1 answers its v3 reports as JSON arrays of arrays whose first row names the columns, and
 * its async partner reports as CSV files with a header row. No documented example shows the
 * column names (INFERRED: see connectors/system1/README.md), so columns are read by normalized
 * header name (`Sub ID` → `sub_id`), never by position, and a totals row (a first cell that is
 * not a date, e.g. "Total") is dropped wherever it sits.
 */
export const system1RowSchema = z.looseObject({});

/** `Sub ID` → `sub_id`, `PARTNER NET REVENUE` → `partner_net_revenue`. */
export function headerKey(name: unknown): string {
  return String(name ?? '').trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

const DATE = /^\d{4}-\d{2}-\d{2}/;

/** Header-row tables (JSON arrays of arrays, or CSV text) → one object per data row, totals rows dropped. */
export function system1Records(body: unknown): Record<string, unknown>[] {
  const table: unknown[][] =
    typeof body === 'string' ? (parse(body, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][])
    : Array.isArray(body) && body.every(Array.isArray) ? (body as unknown[][])
    : [];
  if (table.length === 0 && body !== null && !(Array.isArray(body) && body.length === 0) && typeof body !== 'string') {
    throw new Error(`System1 answered something other than a header-row table: ${JSON.stringify(body).slice(0, 120)}`);
  }
  const [header, ...rows] = table;
  if (!header) return [];
  const keys = header.map(headerKey);
  const dateColumn = keys.findIndex((key) => key === 'date' || key === 'data_date');
  return rows
    .filter((row) => DATE.test(String(row[dateColumn < 0 ? 0 : dateColumn] ?? '')))
    .map((row) => Object.fromEntries(keys.map((key, index) => [key, row[index]])));
}

/** The first of `keys` a record has. */
export function firstOf(record: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const key of keys) if (record[key] !== undefined) return record[key];
  return undefined;
}
