import { z } from 'zod';
import { ConnectorResponseError } from '../kit/errors';

/**
 * Digistore24's API envelope and `listTransactions` rows. The envelope is what Digistore24's own
 * PHP connector checks (`api_version` and `result`; `"result": "error"` with `message` and `code`,
 * `"result": "success"` with `data`). The rows' field names are NOT documented where Tally could
 * read them (the reference's "Return data" part): every name below is INFERRED from the same
 * data's names elsewhere — the S2S postback placeholders ({cid}, {campaignkey}, {amount_affiliate}),
 * listCommissions' items (transaction_id, purchase_id, created_at, currency, amount) and the
 * transaction types listCommissions documents (payment, refund, refund_request, chargeback).
 * Strict on purpose: a real answer shaped otherwise fails loudly, naming the field.
 */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();

export const digistoreTransactionSchema = z.looseObject({
  transaction_id: z.union([z.string().min(1), z.number()]),
  transaction_type: z.string(),
  created_at: z.string(),
  amount_affiliate: amount.nullish(),
  currency: text,
  cid: text,
  campaignkey: text,
});
export type DigistoreTransaction = z.infer<typeof digistoreTransactionSchema>;

interface Envelope {
  readonly api_version?: unknown;
  readonly result?: unknown;
  readonly message?: unknown;
  readonly data?: unknown;
}

const envelope = (body: unknown): Envelope | undefined => (typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Envelope) : undefined);

/** `{"result": "error", "message": …}`: Digistore24 answers errors inside HTTP 200. */
export function digistoreError(body: unknown): string | undefined {
  const answer = envelope(body);
  return answer?.result === 'error' ? String(answer.message ?? '') : undefined;
}

/** Not the envelope at all ("The Digistore24 server delivered an invalid response"). */
export function isNotDigistoreEnvelope(body: unknown): boolean {
  const answer = envelope(body);
  return answer?.api_version === undefined || answer.result === undefined;
}

/** The transactions of a success answer: `data.transaction_list` (INFERRED, see above). */
export function transactionList(body: unknown): readonly unknown[] {
  const data = envelope(envelope(body)?.data) as Record<string, unknown> | undefined;
  const list = data?.transaction_list;
  if (!Array.isArray(list)) {
    throw new ConnectorResponseError(
      `listTransactions answered without data.transaction_list (data has: ${data ? Object.keys(data).join(', ') || 'nothing' : JSON.stringify(envelope(body)?.data ?? null).slice(0, 80)}); Tally's field names for this call are inferred: please report this answer's shape`,
    );
  }
  return list;
}
