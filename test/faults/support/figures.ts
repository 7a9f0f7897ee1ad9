import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { OUTPUT } from './tally-process';

/** The line every fault case prints, and the row of test/faults/README.md. */
export interface Figures {
  readonly sent: number;
  readonly acknowledged: number;
  /** Acknowledged conversions present in Postgres. */
  readonly stored: number;
  /** Conversions beyond one per txid, plus ledger rows beyond one per intake id. */
  readonly duplicates: number;
  /** Acknowledged but absent. */
  readonly lost: number;
}

/**
 * Counts, for the txids a case sent, how many are stored, how many twice, and which acknowledged
 * ones are missing. Read straight from the case's Postgres, not through Tally.
 */
export async function countConversions(databaseUrl: string, sent: readonly string[], acknowledged: readonly string[]): Promise<Figures & { storedUnacknowledged: number; missing: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ txid: string; n: number }>('SELECT txid, count(*)::int AS n FROM conversions WHERE txid = ANY ($1::text[]) GROUP BY txid', [[...new Set(sent)]]);
    const ledger = await client.query<{ extra: number }>(
      "SELECT coalesce(sum(n - 1), 0)::int AS extra FROM (SELECT count(*) AS n FROM registration_log WHERE intake_id IS NOT NULL GROUP BY intake_id) seen",
    );
    const present = new Map(rows.map((row) => [row.txid, row.n]));
    const acked = new Set(acknowledged);
    const missing = [...acked].filter((txid) => !present.has(txid));
    const duplicates = rows.reduce((sum, row) => sum + row.n - 1, 0) + (ledger.rows[0]?.extra ?? 0);
    return {
      sent: sent.length,
      acknowledged: acknowledged.length,
      stored: [...acked].filter((txid) => present.has(txid)).length,
      duplicates,
      lost: missing.length,
      storedUnacknowledged: [...present.keys()].filter((txid) => !acked.has(txid)).length,
      missing: missing.slice(0, 20),
    };
  } finally {
    await client.end();
  }
}

/** Prints the case's one line and keeps it in test-output/faults/figures.jsonl for the README table. */
export function report(name: string, figures: Figures, note = ''): void {
  const line = `[fault] ${name}: sent=${figures.sent} acknowledged=${figures.acknowledged} stored=${figures.stored} duplicates=${figures.duplicates} lost=${figures.lost}${note ? ` (${note})` : ''}`;
  process.stdout.write(`${line}\n`);
  mkdirSync(OUTPUT, { recursive: true });
  appendFileSync(join(OUTPUT, 'figures.jsonl'), `${JSON.stringify({ case: name, at: new Date().toISOString(), ...figures, note })}\n`);
}
