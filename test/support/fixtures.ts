import type { Db } from '../../src/db/database';
import { createCampaign, createOffer, insertClicks, type NewOffer } from '../../src/catalog/catalog';
import { createNetwork, type NetworkChanges } from '../../src/catalog/network-store';

export interface Funnel {
  networkId: string;
  offerId: string;
  campaignId: string;
}

/** A network, an offer on it and a campaign sending traffic to it. */
export async function createFunnel(db: Db, options: { network?: Partial<NetworkChanges>; offer?: Partial<NewOffer> } = {}): Promise<Funnel> {
  const network = await createNetwork(db, Buffer.alloc(32, 1), { name: 'Test network', ...options.network });
  const offer = await createOffer(db, { name: 'Test offer', url: 'https://offer.example/?s2={cf_click_id}', network_id: network.id, ...options.offer });
  const campaign = await createCampaign(db, { name: 'Test campaign', offer_id: offer.id });
  return { networkId: network.id, offerId: offer.id, campaignId: campaign.id };
}

/** Issues `count` clicks on a campaign, visited at `visitedAt`. */
export async function createClicks(db: Db, campaignId: string, count = 1, visitedAt = new Date(Date.now() - 3_600_000)): Promise<string[]> {
  return insertClicks(db, Array.from({ length: count }, () => ({ campaign_id: campaignId, visited_at: visitedAt })));
}
