import { z } from 'zod';

/**
 * A transaction of Awin's publisher `GET /publishers/{publisherId}/transactions/`, as in the
 * documented example (https://help.awin.com/apidocs/returns-a-list-of-transactions-for-a-given-publisher;
 * the 2017 wiki.awin.com version and the newer one). The answer is a plain JSON array. Amounts are
 * JSON numbers, kept as their exact digits by the lossless parser. Loose: unmapped fields stay in `raw`.
 */
const text = z.string().nullish();
const amount = z.union([z.string(), z.number()]);
const money = z.looseObject({ amount: amount.nullish(), currency: text }).nullish();

export const AWIN_CLICK_REFS = ['clickRef', 'clickRef2', 'clickRef3', 'clickRef4', 'clickRef5', 'clickRef6'] as const;

export const awinTransactionSchema = z.looseObject({
  id: z.union([z.number(), z.string().min(1)]),
  commissionStatus: text,
  commissionAmount: money,
  saleAmount: money,
  clickRefs: z.looseObject(Object.fromEntries(AWIN_CLICK_REFS.map((name) => [name, text])) as Record<(typeof AWIN_CLICK_REFS)[number], typeof text>).nullish(),
  transactionDate: z.string({ error: 'transactionDate must be a date-time such as "2017-02-20T22:04:00"' }),
  validationDate: text,
  type: text,
});
export type AwinTransaction = z.infer<typeof awinTransactionSchema>;
