import { parseCurrencyCode } from '../../src/money/currency';
import type { NormalizedConversion } from '../kit/types';
import type { ClickBankLineItem, ClickBankOrder } from './schema';

/**
 * Transaction types that are affiliate conversions. BILL is a subscription rebill (a recurring
 * payment on an existing receipt); upsells are not a transaction type but SALE rows of their own
 * (lineItemType UPSELL), so they stay "sale". FEE and TEST_* rows are not conversions.
 */
const TYPES: Readonly<Record<string, string>> = { SALE: 'sale', BILL: 'rebill', RFND: 'refund', CGBK: 'chargeback' };

/**
 * Maps one transaction row to one conversion per line item (the row has no earnings total of its
 * own, and money is never added up in JS). Pure.
 *
 * txid: `receipt:type:itemNo`. A receipt has one SALE but can have several BILL, RFND and CGBK
 * rows over time (every rebill, partial refunds), so those also carry the transaction's unix time.
 * A refund or chargeback is its own conversion next to the sale, with the amount ClickBank reports
 * for it (negative for the account when it is taken back); ClickBank has no pending state, so
 * every row is approved.
 */
export function mapClickBankOrder(order: ClickBankOrder): NormalizedConversion[] {
  const type = TYPES[order.transactionType];
  if (!type) return [];
  const occurredAt = new Date(order.transactionTime);
  const when = order.transactionType === 'SALE' ? [] : [String(Math.floor(occurredAt.getTime() / 1000))];
  const items: (ClickBankLineItem | null)[] = order.lineItemData?.length ? order.lineItemData : [null];
  return items.map((item) => ({
    // The tid exactly as ClickBank reports it. ClickBank has upper-cased tids in the past, so the
    // case may differ from the click ID we issued; the pipeline compares click IDs case-insensitively.
    click_id: order.trackingId || null,
    txid: [order.receipt, order.transactionType, ...(item?.itemNo != null ? [String(item.itemNo)] : []), ...when].join(':'),
    payout: item?.accountAmount == null ? null : String(item.accountAmount),
    currency: order.currency ? (parseCurrencyCode(order.currency) ?? null) : null,
    status: 'approved',
    type,
    occurred_at: occurredAt,
    raw: order,
  }));
}
