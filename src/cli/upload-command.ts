import { createReadStream, statSync } from 'node:fs';
import type { Db } from '../db/database';
import type { Registrar } from '../pipeline/registrar';
import { uploadCsv, type UploadLineResult, type UploadSummary } from '../upload/csv-upload';
import { InputError } from '../util/errors';

export interface UploadCommandOptions {
  dryRun?: boolean;
  errorsOnly?: boolean;
  batchSize?: number;
}

/** Exit codes of `tally upload`: 0 only when every line was accepted or a duplicate. */
export const UPLOAD_EXIT = { ok: 0, rejected: 2, updated: 3 } as const;

/** Uploads a CSV file, printing one result per line and a summary; returns the exit code. */
export async function runUpload(
  db: Db,
  registrar: Registrar,
  file: string,
  options: UploadCommandOptions,
  write: (text: string) => void,
): Promise<{ code: number; summary: UploadSummary }> {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new InputError(`${file} is not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (size === 0) throw new InputError(`${file} is empty; expected lines of click_id,payout,transaction_id,conversion_type,timestamp`);

  const printLine = (result: UploadLineResult): void => {
    if (options.errorsOnly && (result.status === 'accepted' || result.status === 'duplicate')) return;
    const detail = result.reason ? ` ${result.reason}${result.message ? `: ${result.message}` : ''}` : '';
    write(`line ${result.line}: ${result.status}${detail}\n`);
  };
  const summary = await uploadCsv(db, registrar, createReadStream(file), {
    filename: file,
    dryRun: options.dryRun ?? false,
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    onLine: printLine,
  });
  if (summary.rows === 0) throw new InputError(`${file} has no conversion lines; expected click_id,payout,transaction_id,conversion_type,timestamp`);
  write(
    `${options.dryRun ? 'dry run (nothing stored): ' : ''}${summary.rows} rows: ${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.updated} updated, ${summary.rejected} rejected` +
      `${summary.upload_id ? ` (upload ${summary.upload_id})` : ''}\n`,
  );
  const code = summary.rejected > 0 ? UPLOAD_EXIT.rejected : summary.updated > 0 ? UPLOAD_EXIT.updated : UPLOAD_EXIT.ok;
  return { code, summary };
}
