/** A decimal or integer as written by the API (`-12.50`): a spreadsheet reads it as a number, never a formula. */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
/** First characters that make Excel, LibreOffice or Google Sheets run a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r\n]/;

/**
 * One CSV cell: quoted when it holds a separator, quote or line break, and prefixed with `'` when
 * a spreadsheet would run it as a formula (a click ID or param such as `=HYPERLINK(…)` arrives
 * from outside). Plain numbers are left as they are so amounts stay numbers.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text) && !PLAIN_NUMBER.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (CRLF, as RFC 4180 has it). */
export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
