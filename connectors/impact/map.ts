import { parseCurrencyCode } from '../../src/money/currency';
import type { NormalizedConversion } from '../kit/types';
import type { ImpactAction } from './schema';

export const IMPACT_CLICK_ID_FIELDS = ['SubId1', 'SubId2', 'SubId3', 'SharedId'] as const;
export type ImpactClickIdField = (typeof IMPACT_CLICK_ID_FIELDS)[number];

/** The three documented states; REVERSED actions will not pay out. */
const STATUS: Readonly<Record<string, NormalizedConversion['status']>> = {
  PENDING: 'pending',
  APPROVED: 'approved',
  REVERSED: 'declined',
};

/** Maps one action. Pure. */
export function mapImpactAction(action: ImpactAction, clickIdField: ImpactClickIdField): NormalizedConversion {
  const payout = action.Payout;
  return {
    click_id: action[clickIdField] || null,
    txid: action.Id,
    // `Payout` is the partner's commission, sent as a decimal string ("4.50").
    payout: payout === null || payout === undefined || payout === '' ? null : String(payout),
    currency: action.Currency ? (parseCurrencyCode(action.Currency) ?? null) : null,
    // An undocumented state stays pending: not counted as revenue until impact.com approves it.
    status: STATUS[action.State.toUpperCase()] ?? 'pending',
    // ActionTrackerName is a brand-defined label ("Online Sale"); the connection's conversion type applies.
    type: null,
    occurred_at: new Date(action.EventDate),
    raw: action,
  };
}
