import { join } from 'node:path';
import { query } from '../db/sql';
import { formatMoney } from '../money/decimal';
import { insertClicks } from '../catalog/catalog';
import type { Services } from '../runtime/services';
import { runUpload } from './upload-command';

/** Fixed ids so that running the example again finds what it created the first time. */
const EXAMPLE = {
  networkId: '00000000-0000-4000-8000-00000000e001',
  offerId: '00000000-0000-4000-8000-00000000e002',
  campaignId: '00000000-0000-4000-8000-00000000e003',
  clicks: ['b39be7d3-71b8-4df1-b4b7-921995a23c1f', '0f6c2a9e-3d1b-4c55-9a7e-51c0d2b8e4a7', '7d2e4b10-9c3f-4a1e-8b6d-2f5a7c9e1d3b'],
};

export const EXAMPLE_FILE = join(__dirname, '..', '..', '..', 'examples', 'conversions.csv');

/**
 * Creates (once) an example network, offer, campaign and the clicks that
 * examples/conversions.csv refers to, then uploads that file. Running it again registers nothing
 * new: every line comes back as a duplicate.
 */
export async function runExample(services: Services, write: (text: string) => void): Promise<number> {
  const { db } = services;
  await query(db, `INSERT INTO networks (id, name, currency) VALUES ($1, 'Example Network', 'USD') ON CONFLICT (id) DO NOTHING`, [EXAMPLE.networkId]);
  await query(db, `INSERT INTO offers (id, name, url, network_id, payout_mode) VALUES ($1, 'Example Offer', $2, $3, 'auto') ON CONFLICT (id) DO NOTHING`,
    [EXAMPLE.offerId, 'https://offer.example/?s2={cf_click_id}', EXAMPLE.networkId],
  );
  await query(db, `INSERT INTO campaigns (id, name, offer_id) VALUES ($1, 'Example Campaign', $2) ON CONFLICT (id) DO NOTHING`, [EXAMPLE.campaignId, EXAMPLE.offerId]);
  await insertClicks(db, EXAMPLE.clicks.map((click_id) => ({ click_id, campaign_id: EXAMPLE.campaignId, visited_at: new Date('2025-10-02T10:00:00Z') })));
  write(`example campaign ${EXAMPLE.campaignId} with ${EXAMPLE.clicks.length} clicks is ready; uploading ${EXAMPLE_FILE}\n`);
  const { code } = await runUpload(db, services.registrar, EXAMPLE_FILE, {}, write);
  const totals = await query<{ conversions: string; revenue: string | null }>(db, `SELECT count(*)::text AS conversions, sum(CASE WHEN t.sign < 0 THEN -abs(c.payout) ELSE c.payout END)::text AS revenue
       FROM conversions c JOIN conversion_types t ON t.name = c.type WHERE c.campaign_id = $1`,
    [EXAMPLE.campaignId],
  );
  write(`example campaign now holds ${totals[0]?.conversions ?? 0} conversions, net revenue ${formatMoney(totals[0]?.revenue ?? '0')} USD\n`);
  return code;
}
