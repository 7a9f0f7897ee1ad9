import { StringDecoder } from 'node:string_decoder';

/** Longest record accepted; a longer one is rejected alone, and never held in memory whole. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Physical lines a quoted field may span before the record is given up as an unclosed quote. */
const MAX_RECORD_LINES = 20;

export type CsvRecord =
  | { readonly ok: true; readonly line: number; readonly fields: string[] }
  | { readonly ok: false; readonly line: number; readonly reason: 'invalid_csv_line' | 'line_too_long'; readonly message: string; readonly text: string };

type ParsedLine = { complete: true; fields: string[] } | { complete: false } | { complete: true; error: string };

/**
 * Parses one CSV record (RFC 4180: comma-separated, `"` quotes, `""` inside quotes). Returns
 * incomplete when a quoted field is still open at the end (its newline belongs to the field).
 */
export function parseCsvRecord(text: string): ParsedLine {
  const fields: string[] = [];
  let field = '';
  let index = 0;
  let quoted = false;
  let wasQuoted = false;
  while (index < text.length) {
    const char = text[index] as string;
    if (quoted) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
        index += 1;
        // After a closing quote only spaces may come before the delimiter.
        while (text[index] === ' ' || text[index] === '\t') index += 1;
        if (index < text.length && text[index] !== ',') return { complete: true, error: `unexpected ${JSON.stringify(text[index])} after a closing quote at column ${index + 1}` };
        continue;
      }
      field += char;
      index += 1;
      continue;
    }
    if (char === ',') {
      fields.push(wasQuoted ? field : field.trim());
      field = '';
      wasQuoted = false;
      index += 1;
      continue;
    }
    if (char === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
      index += 1;
      continue;
    }
    if (char === '"') return { complete: true, error: `a quote inside an unquoted field at column ${index + 1}; quote the whole field and double the quote ("")` };
    field += char;
    index += 1;
  }
  if (quoted) return { complete: false };
  fields.push(wasQuoted ? field : field.trim());
  return { complete: true, fields };
}

/**
 * Reads a CSV stream record by record, so that a broken record costs only itself: each record
 * is parsed on its own, an unparseable one comes out as a rejection with its line number, and
 * the next one starts on the next line. BOM, CRLF, blank lines and quoted fields (also spanning
 * lines) are fine. Memory stays bounded by {@link MAX_RECORD_BYTES} whatever the input: the rest
 * of an over-long line is skipped without being kept.
 */
export async function* readCsvRecords(input: AsyncIterable<Buffer | string>): AsyncGenerator<CsvRecord> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let physicalLine = 0;
  let pending: { text: string; line: number; lines: number } | undefined;
  let skippingLongLine: { line: number; text: string } | undefined;
  let first = true;

  function* completeLine(rawLine: string): Generator<CsvRecord> {
    physicalLine += 1;
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (first) {
      line = line.replace(/^\uFEFF/, '');
      first = false;
    }
    const text = pending ? `${pending.text}\n${line}` : line;
    const startLine = pending?.line ?? physicalLine;
    const lines = (pending?.lines ?? 0) + 1;
    pending = undefined;
    if (text.length > MAX_RECORD_BYTES) {
      yield { ok: false, line: startLine, reason: 'line_too_long', message: `the record is longer than ${MAX_RECORD_BYTES / 1024} KB`, text: text.slice(0, 200) };
      return;
    }
    const parsed = parseCsvRecord(text);
    if (!parsed.complete) {
      if (lines >= MAX_RECORD_LINES) {
        yield { ok: false, line: startLine, reason: 'invalid_csv_line', message: `a quoted field opened on line ${startLine} is not closed within ${MAX_RECORD_LINES} lines`, text: text.slice(0, 200) };
        return;
      }
      pending = { text, line: startLine, lines };
      return;
    }
    if ('error' in parsed) {
      yield { ok: false, line: startLine, reason: 'invalid_csv_line', message: `the line is not valid CSV: ${parsed.error}`, text: text.slice(0, 200) };
      return;
    }
    if (parsed.fields.every((value) => value === '')) return;
    yield { ok: true, line: startLine, fields: parsed.fields };
  }

  for await (const chunk of input) {
    buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const rawLine = buffer.slice(start, newline);
      start = newline + 1;
      if (skippingLongLine) {
        physicalLine += 1;
        yield { ok: false, line: skippingLongLine.line, reason: 'line_too_long', message: `the line is longer than ${MAX_RECORD_BYTES / 1024} KB`, text: skippingLongLine.text };
        skippingLongLine = undefined;
      } else {
        yield* completeLine(rawLine);
      }
      newline = buffer.indexOf('\n', start);
    }
    buffer = buffer.slice(start);
    if (buffer.length > MAX_RECORD_BYTES) {
      // A line without end in sight: keep its start for the log and drop the rest as it streams.
      if (!skippingLongLine) {
        skippingLongLine = { line: (pending?.line ?? physicalLine + 1), text: (pending ? pending.text : buffer).slice(0, 200) };
        if (pending) physicalLine += pending.lines - 1;
        pending = undefined;
      }
      buffer = '';
    }
  }
  buffer += decoder.end();
  if (skippingLongLine) {
    yield { ok: false, line: skippingLongLine.line, reason: 'line_too_long', message: `the line is longer than ${MAX_RECORD_BYTES / 1024} KB`, text: skippingLongLine.text };
  } else if (buffer !== '' || pending) {
    yield* completeLine(buffer);
    if (pending) {
      const open: { text: string; line: number } = pending;
      yield { ok: false, line: open.line, reason: 'invalid_csv_line', message: `a quoted field opened on line ${open.line} is never closed`, text: open.text.slice(0, 200) };
    }
  }
}
