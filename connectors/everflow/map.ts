import { parseCurrencyCode } from '../../src/money/currency';
import type { NormalizedConversion } from '../kit/types';
import type { EverflowConversion } from './schema';

export const EVERFLOW_CLICK_ID_FIELDS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;
export type EverflowClickIdField = (typeof EVERFLOW_CLICK_ID_FIELDS)[number];

/** Maps one row of the affiliate conversion report. Pure. */
export function mapEverflowConversion(conversion: EverflowConversion, clickIdField: EverflowClickIdField): NormalizedConversion {
  const revenue = conversion.revenue;
  return {
    click_id: conversion[clickIdField] || null,
    txid: conversion.conversion_id,
    // In the affiliate API `revenue` is what the affiliate earns (the affiliate's "payout"); the
    // network API's `payout` field does not exist here. The lossless parser gives a safe integer
    // as a number and any other amount as its exact digit string.
    payout: revenue === null || revenue === undefined ? null : String(revenue),
    currency: conversion.currency_id ? (parseCurrencyCode(conversion.currency_id) ?? null) : null,
    status: everflowStatus(conversion.status ?? conversion.conversion_status),
    type: conversion.is_event ? eventType(conversion.event ?? conversion.event_name) : null,
    occurred_at: new Date(conversion.conversion_unix_timestamp * 1000),
    raw: conversion,
  };
}

/**
 * Everflow statuses are approved, pending, rejected and invalid (scrubbed conversions appear as
 * rejected_* in the summaries). The affiliate report may omit the field: what an affiliate is
 * shown without a status is credited, so that counts as approved. Anything unknown stays pending
 * so it is not counted as revenue until Everflow says so.
 */
function everflowStatus(status: string | null | undefined): NormalizedConversion['status'] {
  const value = (status ?? '').trim().toLowerCase();
  if (value === '' || value === 'approved') return 'approved';
  if (/reject|invalid/.test(value)) return 'declined';
  return 'pending';
}

/** An event's name as a conversion type: lower case, only [a-z0-9_.-]. */
function eventType(name: string | null | undefined): string | null {
  const type = (name ?? '').toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
  return type || null;
}
