import type { Db } from '../db/database';
import { query, type Queryable } from '../db/sql';
import { InputError, NotFoundError } from '../util/errors';
import { CLICK_ID_PATTERN } from '../pipeline/normalize';
import { isUuid } from '../util/uuid';
import { newClickId } from './click-id';

export interface OfferRow {
  id: string;
  name: string;
  url: string;
  network_id: string | null;
  payout_mode: 'auto' | 'manual';
  payout: string | null;
  currency: string | null;
  created_at: Date;
}

export interface CampaignRow {
  id: string;
  name: string;
  offer_id: string;
  created_at: Date;
}

export interface NewOffer {
  name: string;
  url: string;
  network_id?: string | null;
  payout_mode?: 'auto' | 'manual';
  payout?: string | null;
  currency?: string | null;
}

export interface NewClick {
  click_id?: string;
  campaign_id: string;
  visited_at?: Date;
  params?: Record<string, string>;
  ip?: string | null;
  user_agent?: string | null;
}

/** Creates an offer; the network must exist. */
export async function createOffer(db: Queryable, input: NewOffer): Promise<OfferRow> {
  if (input.network_id) await requireRow(db, 'networks', input.network_id, 'network');
  const mode = input.payout_mode ?? 'auto';
  if (mode === 'manual' && (input.payout === undefined || input.payout === null)) {
    throw new InputError('payout is required when payout_mode is "manual"');
  }
  const [row] = await query<OfferRow>(db, `INSERT INTO offers (name, url, network_id, payout_mode, payout, currency) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, name, url, network_id, payout_mode, payout, currency, created_at`,
    [input.name, input.url, input.network_id ?? null, mode, input.payout ?? null, input.currency ?? null],
  );
  return row as OfferRow;
}

export type OfferChanges = Partial<NewOffer>;

/**
 * Changes an offer in one statement. A new payout, currency or payout mode applies to conversions
 * registered from now on: a manual payout is assigned once, when a conversion is first registered,
 * and never repriced (DESIGN "Manual payout is assigned once").
 */
export async function updateOffer(db: Queryable, id: string, changes: OfferChanges): Promise<OfferRow> {
  if (!isUuid(id)) throw new NotFoundError(`offer ${id.slice(0, 80)} does not exist`, 'offer_not_found');
  if (changes.network_id) await requireRow(db, 'networks', changes.network_id, 'network');
  const given = (name: keyof OfferChanges): boolean => Object.prototype.hasOwnProperty.call(changes, name) && changes[name] !== undefined;
  const rows = await query<OfferRow & { manual_without_payout: boolean }>(
    db,
    `UPDATE offers SET
        name = CASE WHEN $2 THEN $3 ELSE name END,
        url = CASE WHEN $4 THEN $5 ELSE url END,
        network_id = CASE WHEN $6 THEN $7::uuid ELSE network_id END,
        payout_mode = CASE WHEN $8 THEN $9 ELSE payout_mode END,
        payout = CASE WHEN $10 THEN $11::numeric ELSE payout END,
        currency = CASE WHEN $12 THEN $13 ELSE currency END,
        updated_at = now()
      WHERE id = $1
      RETURNING id, name, url, network_id, payout_mode, payout, currency, created_at`,
    [
      id,
      given('name'), changes.name ?? null,
      given('url'), changes.url ?? null,
      given('network_id'), changes.network_id ?? null,
      given('payout_mode'), changes.payout_mode ?? null,
      given('payout'), changes.payout ?? null,
      given('currency'), changes.currency ?? null,
    ],
  ).catch((error: { code?: string; constraint?: string }) => {
    if (error.code === '23514' && error.constraint === 'offers_manual_needs_payout') {
      throw new InputError('payout is required when payout_mode is "manual"; send payout with the change');
    }
    throw error;
  });
  const [row] = rows;
  if (!row) throw new NotFoundError(`offer ${id} does not exist`, 'offer_not_found');
  return row;
}

/** Creates a campaign sending traffic to an existing offer. */
export async function createCampaign(db: Queryable, input: { name: string; offer_id: string }): Promise<CampaignRow> {
  await requireRow(db, 'offers', input.offer_id, 'offer');
  const [row] = await query<CampaignRow>(db, 'INSERT INTO campaigns (name, offer_id) VALUES ($1, $2) RETURNING id, name, offer_id, created_at',
    [input.name, input.offer_id],
  );
  return row as CampaignRow;
}

/**
 * Renames a campaign or points it at another offer. Clicks keep the offer they were issued for,
 * so conversions of earlier clicks stay with the earlier offer.
 */
export async function updateCampaign(db: Queryable, id: string, changes: { name?: string; offer_id?: string }): Promise<CampaignRow> {
  if (!isUuid(id)) throw new NotFoundError(`campaign ${id.slice(0, 80)} does not exist`, 'campaign_not_found');
  if (changes.offer_id !== undefined) await requireRow(db, 'offers', changes.offer_id, 'offer');
  const [row] = await query<CampaignRow>(
    db,
    `UPDATE campaigns SET name = coalesce($2, name), offer_id = coalesce($3::uuid, offer_id), updated_at = now() WHERE id = $1 RETURNING id, name, offer_id, created_at`,
    [id, changes.name ?? null, changes.offer_id ?? null],
  );
  if (!row) throw new NotFoundError(`campaign ${id} does not exist`, 'campaign_not_found');
  return row;
}

/**
 * Stores clicks (issued or imported) in one statement. Imported ids are lower-cased; an id that
 * already exists is left as it is, so re-importing a file is harmless. Returns the ids in input
 * order.
 */
export async function insertClicks(db: Db | Queryable, clicks: readonly NewClick[]): Promise<string[]> {
  if (clicks.length === 0) return [];
  const ids = clicks.map((click, index) => {
    if (click.click_id === undefined) return newClickId();
    if (!CLICK_ID_PATTERN.test(click.click_id)) {
      throw new InputError(`clicks[${index}].click_id "${click.click_id.slice(0, 70)}" is not valid: use 1-64 characters of letters, digits, "_" or "-"`);
    }
    return click.click_id.toLowerCase();
  });
  const campaignIds = [...new Set(clicks.map((click) => click.campaign_id))];
  const malformed = campaignIds.find((id) => !isUuid(id));
  if (malformed !== undefined) throw new InputError(`campaign_id "${malformed.slice(0, 70)}" is not a UUID`);
  const campaigns = await query<{ id: string; offer_id: string }>(db, 'SELECT id, offer_id FROM campaigns WHERE id = ANY ($1::uuid[])', [campaignIds]);
  const offerOf = new Map(campaigns.map((campaign) => [campaign.id, campaign.offer_id]));
  const missing = campaignIds.find((id) => !offerOf.has(id));
  if (missing) throw new NotFoundError(`campaign ${missing} does not exist; create it with POST /api/v1/campaigns first`, 'campaign_not_found');
  await query(db, `INSERT INTO clicks (click_id, campaign_id, offer_id, visited_at, params, ip, user_agent)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::jsonb[], $6::inet[], $7::text[])
     ON CONFLICT (click_id) DO NOTHING`,
    [
      ids,
      clicks.map((click) => click.campaign_id),
      clicks.map((click) => offerOf.get(click.campaign_id)),
      clicks.map((click) => click.visited_at ?? new Date()),
      clicks.map((click) => JSON.stringify(click.params ?? {})),
      clicks.map((click) => click.ip ?? null),
      clicks.map((click) => click.user_agent ?? null),
    ],
  );
  return ids;
}

async function requireRow(db: Queryable, table: 'networks' | 'offers' | 'campaigns', id: string, label: string): Promise<void> {
  if (!isUuid(id)) {
    throw new InputError(`${label}_id "${id}" is not a UUID`);
  }
  const rows = await query(db, `SELECT 1 FROM ${table} WHERE id = $1`, [id]);
  if (rows.length === 0) throw new NotFoundError(`${label} ${id} does not exist`, `${label}_not_found`);
}
