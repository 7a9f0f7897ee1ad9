import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import type { ConnectorSpec, DateParamsSpec, StreamSpec } from '../kit/spec';
import { impactActionSchema, isImpactError } from './schema';

const DEFAULT_BASE_URL = 'https://api.impact.com';
const ACTIONS_DOC = 'https://integrations.impact.com/impact-publisher/reference/list-actions';
/** "`StartDate` and `EndDate` cannot be more than 45 days apart" (and the same for LockingDate). */
export const IMPACT_MAX_DAYS = 45;
export const IMPACT_CLICK_ID_FIELDS = ['SubId1', 'SubId2', 'SubId3', 'SharedId'] as const;

export const impactConfigSchema = z.object({
  account_sid: secretField('account_sid', 'the Account SID from Settings > API in impact.com'),
  auth_token: secretField('auth_token', 'the Auth Token from Settings > API in impact.com'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(IMPACT_CLICK_ID_FIELDS).default('SubId1').describe('The tracking-link parameter that carries the tracker click ID'),
});
export type ImpactConfig = z.infer<typeof impactConfigSchema>;

/** Whole UTC days, on or after the start and on or before the end (the last second of the last day). */
function dates(from: string, to: string): DateParamsSpec {
  return { in: 'query', from, to, format: 'iso8601', timeZone: 'UTC', end: 'inclusive', wholeDays: true, maxDays: IMPACT_MAX_DAYS };
}

/** The Actions list filtered by one of its three dates; every variant maps the same `Action`. */
function actions(name: string, role: 'window' | 'sweep', from: string, to: string): StreamSpec<'conversion', ImpactConfig> {
  return {
    name,
    documentationUrl: ACTIONS_DOC,
    role,
    request: { method: 'GET', path: 'Mediapartners/{account_sid}/Actions', dates: dates(from, to) },
    // `@nextpageuri`: a path on the API host with the query; empty on the last page
    // (https://integrations.impact.com/impact-publisher/reference/pagination).
    pagination: { type: 'next_uri', path: ['@nextpageuri'] },
    records: { path: ['Actions'], schema: impactActionSchema },
    fields: {
      clickId: { configField: 'click_id_field' },
      txid: ['Id'],
      // "Commission amount calculated for the action that will be paid out to the partner."
      payout: ['Payout'],
      currency: ['Currency'],
      occurredAt: { get: ['EventDate'], format: 'iso8601' },
      // ActionTrackerName is a brand-defined label ("Online Sale"): the connection's type applies.
      type: null,
      status: { get: ['State'], map: { PENDING: 'pending', APPROVED: 'approved', REVERSED: 'declined' }, unknown: 'pending', missing: 'pending' },
    },
  };
}

const isoSecond = (at: number) => new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export const impactSpec: ConnectorSpec<'conversion', ImpactConfig> = {
  id: 'impact',
  name: 'impact.com (partner API)',
  kind: 'conversion',
  documentationUrl: ACTIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the time zone the date filters are read in without an offset (UTC is sent explicitly with Z)',
      'whether an action whose State changes at its LockingDate counts as "last updated" for StartDate/EndDate (both sweeps run)',
    ],
  },
  config: { schema: impactConfigSchema, secretFields: ['auth_token'], defaultBaseUrl: DEFAULT_BASE_URL },
  auth: { type: 'basic', usernameField: 'account_sid', passwordField: 'auth_token' },
  // Responses are XML unless JSON is asked for.
  headers: { Accept: 'application/json' },
  // "Performance detail" resources (/Actions, /Clicks): 500 requests an hour
  // (https://integrations.impact.com/impact-publisher/reference/rate-limits).
  rateLimit: { requests: 500, intervalMs: 3_600_000 },
  // Actions stay PENDING until their LockingDate and can be reversed until then; the lookback
  // re-reads recent events and the two sweeps catch approvals and reversals of older ones.
  window: { defaultLookbackDays: 60 },
  streams: [
    actions('actions', 'window', 'ActionDateStart', 'ActionDateEnd'),
    // Actions whose LockingDate fell in the window: approved (or reversed) at locking, however old their event.
    actions('actions_locked', 'sweep', 'LockingDateStart', 'LockingDateEnd'),
    // Actions last updated in the window: payout changes and reversals before locking.
    actions('actions_updated', 'sweep', 'StartDate', 'EndDate'),
  ],
  check: {
    documentationUrl: ACTIONS_DOC,
    // The Actions list over the last minute: proves the token may read exactly what pull reads
    // (scoped tokens can allow Actions without CompanyInformation) and returns next to nothing.
    request: {
      method: 'GET',
      path: 'Mediapartners/{account_sid}/Actions',
      query: { ActionDateStart: () => isoSecond(Date.now() - 60_000), ActionDateEnd: () => isoSecond(Date.now()) },
    },
  },
  classification: [
    {
      name: '429 over the hourly rate limit',
      status: 429,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 60_000 } },
      source: 'https://integrations.impact.com/impact-publisher/reference/rate-limits',
      examples: [{ status: 429, headers: { 'retry-after': '1', 'x-ratelimit-limit-hour': '500', 'x-ratelimit-remaining-hour': '0' }, body: '', expect: 'rate_limited' }],
    },
    {
      name: '401 wrong Account SID or Auth Token',
      status: 401,
      then: { kind: 'auth' },
      source: 'https://integrations.impact.com/impact-publisher/reference/status-codes-and-errors',
      examples: [{ status: 401, body: '{"Status":"ERROR","Message":"Unauthorized"}', expect: 'auth' }],
    },
    {
      name: '403 the token may not read Actions',
      status: 403,
      then: { kind: 'auth' },
      hint: 'a scoped token needs read access to Actions',
      source: 'https://integrations.impact.com/impact-publisher/reference/status-codes-and-errors',
      examples: [{ status: 403, body: '{"Status":"ERROR","Message":"Forbidden"}', expect: 'auth' }],
    },
    {
      name: '400 bad filter (e.g. a span over 45 days)',
      status: 400,
      then: { kind: 'bad_request' },
      source: 'https://integrations.impact.com/impact-publisher/reference/status-codes-and-errors',
      examples: [{ status: 400, body: '{"Status":"ERROR","Message":"StartDate and EndDate cannot be more than 45 days apart"}', expect: 'bad_request' }],
    },
    {
      name: 'an error inside HTTP 200',
      status: 200,
      body: isImpactError,
      then: { kind: 'transient' },
      source: 'INFERRED: not documented; a {"Status":"ERROR"} body must not pass for an empty page',
      examples: [{ status: 200, body: '{"Status":"ERROR","Message":"Internal error"}', expect: 'transient' }],
    },
  ],
};

export const impactConnector = defineSpecConnector(impactSpec);
