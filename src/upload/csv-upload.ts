import type { Db } from '../db/database';
import { query, queryOne } from '../db/sql';
import { readCsvRecords } from './csv-records';
import type { Registrar } from '../pipeline/registrar';
import type { OutcomeStatus, RegistrationInput } from '../pipeline/types';
import { InputError } from '../util/errors';

/** Column order of a file without a header line (the format of the product article). */
export const POSITIONAL_COLUMNS = ['click_id', 'payout', 'transaction_id', 'conversion_type', 'timestamp'] as const;

/** Header names understood in a file with a header line, mapped to pipeline fields. */
const HEADER_ALIASES: Readonly<Record<string, string>> = {
  click_id: 'click_id', cf_click_id: 'click_id', cid: 'click_id', clickid: 'click_id',
  payout: 'payout', revenue: 'payout', amount: 'payout',
  transaction_id: 'txid', txid: 'txid',
  conversion_type: 'ct', ct: 'ct', type: 'ct',
  timestamp: 'timestamp', time: 'timestamp', date: 'timestamp',
  payout_currency: 'payout_currency', currency: 'payout_currency',
  status: 'status',
  ...Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`param${index + 1}`, `param${index + 1}`])),
};

export interface UploadLineResult {
  readonly line: number;
  readonly status: OutcomeStatus;
  readonly reason?: string;
  readonly message?: string;
}

export interface UploadSummary {
  readonly upload_id: string | null;
  readonly rows: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly updated: number;
  readonly rejected: number;
}

export interface UploadOptions {
  readonly filename?: string;
  readonly dryRun?: boolean;
  /** Conversions per pipeline batch; bounds memory together with the record reader's own bound. */
  readonly batchSize?: number;
  /** Receives each line's result as soon as its batch is committed (in line order). */
  readonly onLine?: (result: UploadLineResult) => void;
}

/**
 * Registers a CSV of conversions, streaming: records are read as they arrive and handed to the
 * pipeline in batches, so memory stays flat whatever the file size. A header line is optional;
 * without one the columns are `click_id,payout,transaction_id,conversion_type,timestamp`. BOM,
 * CRLF, quoted fields and blank lines are fine. A line that is not valid CSV is rejected alone
 * (`invalid_csv_line`, `line_too_long`) with its line number, like any other rejection; the lines
 * around it are registered. Every line gets a result; re-uploading the same file registers
 * nothing new (txid-less lines under the accept policy are identified by content).
 */
export async function uploadCsv(db: Db, registrar: Registrar, input: AsyncIterable<Buffer | string>, options: UploadOptions = {}): Promise<UploadSummary> {
  const batchSize = options.batchSize ?? 5000;
  const counts = { rows: 0, accepted: 0, duplicates: 0, updated: 0, rejected: 0 };
  let uploadId: string | null = null;
  if (!options.dryRun) {
    const row = await queryOne<{ id: string }>(db, 'INSERT INTO uploads (filename) VALUES ($1) RETURNING id', [options.filename?.slice(0, 500) ?? null]);
    uploadId = row?.id ?? null;
  }

  let columns: readonly (string | undefined)[] | undefined;
  let batch: RegistrationInput[] = [];

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    const outcomes = await registrar.register(current, {
      source: 'upload',
      uploadId,
      dryRun: options.dryRun ?? false,
      identifyAcceptedByContent: true,
    });
    outcomes.forEach((outcome, index) => {
      counts.rows += 1;
      if (outcome.status === 'accepted') counts.accepted += 1;
      else if (outcome.status === 'duplicate') counts.duplicates += 1;
      else if (outcome.status === 'updated') counts.updated += 1;
      else counts.rejected += 1;
      const line = current[index]?.line ?? 0;
      options.onLine?.({
        line,
        status: outcome.status,
        ...(outcome.status === 'rejected' || outcome.status === 'updated' ? { reason: outcome.reason ?? undefined, message: outcome.message ?? undefined } : {}),
      });
    });
  };

  try {
    for await (const record of readCsvRecords(input)) {
      if (!record.ok) {
        batch.push({ fields: {}, request: { line: record.line, text: record.text }, line: record.line, rejection: { reason: record.reason, message: `line ${record.line}: ${record.message}` } });
      } else {
        if (columns === undefined) {
          const header = detectHeader(record.fields);
          columns = header ?? POSITIONAL_COLUMNS.map((name) => HEADER_ALIASES[name]);
          if (header) continue;
        }
        const fields: Record<string, string> = {};
        record.fields.forEach((value, position) => {
          const name = columns?.[position];
          if (name !== undefined && value !== '') fields[name] = value;
        });
        batch.push({ fields, request: { line: record.line, values: record.fields }, line: record.line });
      }
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (error) {
    if (uploadId) await finishUpload(db, uploadId, 'failed', counts, (error as Error).message);
    if (error instanceof UploadTooLargeError) throw new InputError(error.message, 'upload_too_large');
    throw error;
  }
  if (uploadId) await finishUpload(db, uploadId, 'completed', counts, null);
  return { upload_id: uploadId, ...counts };
}

/** The upload stream passed its byte limit; what was read so far is registered, the rest is not. */
export class UploadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the CSV is larger than ${limitBytes >= 1024 * 1024 ? `${Math.round(limitBytes / 1024 / 1024)} MB` : `${limitBytes} bytes`} (UPLOAD_MAX_MB); lines read before the limit were registered (see the counts); split the file or use \`tally upload\` on the server`);
    this.name = 'UploadTooLargeError';
  }
}

/**
 * A first line with a click-id column name (`click_id`, `cf_click_id`, `cid`) in any position is
 * a header; a real click id can never be one of those words. Unknown header names are ignored so
 * that exports with extra columns upload as they are.
 */
function detectHeader(record: readonly string[]): (string | undefined)[] | undefined {
  const columns = record.map((cell) => HEADER_ALIASES[cell.trim().toLowerCase()]);
  return columns.includes('click_id') ? columns : undefined;
}

function finishUpload(db: Db, id: string, status: 'completed' | 'failed', counts: Omit<UploadSummary, 'upload_id'>, error: string | null): Promise<unknown> {
  return query(
    db,
    `UPDATE uploads SET status = $2, error = $3, finished_at = now(), rows = $4, accepted = $5, duplicates = $6, updated = $7, rejected = $8 WHERE id = $1`,
    [id, status, error, counts.rows, counts.accepted, counts.duplicates, counts.updated, counts.rejected],
  );
}
