import { z } from 'zod';

/**
 * Shapes of ClickBank's `GET /rest/1.3/orders2/list` (https://support.clickbank.com/en/articles/10535407-orders-api),
 * field names as in the OpenClickBank spec (https://github.com/OcelliSolutions/OpenClickBank, OrderData and
 * LineItemData). The JSON is converted from XML, which shows in three ways: a list of one may come as the
 * object itself, a nil value may come as an object of attributes (`{"@nil": "true"}`) instead of a string
 * or number, and an empty result is the body `null` (or a 204). Parsing normalises lists to arrays and nil
 * to null; objects are loose, so unmapped fields stay in `raw`.
 */

/** What XML→JSON makes of xsi:nil: an object holding only attributes. */
const nil = z.record(z.string().regex(/^@/), z.unknown()).transform(() => null);

function nillable<T extends z.ZodType>(value: T) {
  return z.union([value, z.null(), nil]).optional();
}
/** A list that may arrive as its single element; always an array after parsing. */
function listOf<T extends z.ZodType>(item: T) {
  return z.union([z.array(item), item.transform((one) => [one])]);
}
/** Money: a safe integer as a number or, like every other amount, its exact digit string. */
const amount = z.union([z.string(), z.number()]);

export const clickBankLineItemSchema = z.looseObject({
  itemNo: nillable(z.union([z.string(), z.number()])),
  /** The account's share of this line item: for an affiliate, the commission. */
  accountAmount: nillable(amount),
  lineItemType: nillable(z.string()),
});
export type ClickBankLineItem = z.infer<typeof clickBankLineItemSchema>;

export const clickBankOrderSchema = z.looseObject({
  receipt: z.string().min(1),
  transactionTime: z.iso.datetime({ offset: true, error: 'transactionTime must be an ISO 8601 date-time' }),
  /** SALE, BILL, RFND, CGBK, FEE, TEST_SALE, TEST_BILL, TEST_RFND, TEST_FEE. */
  transactionType: z.string().min(1),
  /** The `tid` of the HopLink. */
  trackingId: nillable(z.string()),
  currency: nillable(z.string()),
  lineItemData: nillable(listOf(clickBankLineItemSchema)),
});
export type ClickBankOrder = z.infer<typeof clickBankOrderSchema>;

export const clickBankOrderListSchema = z.looseObject({ orderData: nillable(listOf(clickBankOrderSchema)) }).nullable();

