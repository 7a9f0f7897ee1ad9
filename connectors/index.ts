import { awinConnector } from './awin';
import { cakeConnector } from './cake';
import { cjConnector } from './cj';
import { clickbankConnector } from './clickbank';
import { digistoreConnector } from './digistore24';
import { crossroadsConnector } from './crossroads';
import { everflowConnector } from './everflow';
import { hasOffersConnector } from './hasoffers';
import { impactConnector } from './impact';
import { sedoConnector } from './sedo';
import { system1Connector } from './system1';
import { tonicConnector } from './tonic';
import type { AnyConnector } from './kit/types';
import { partnerizeConnector } from './partnerize';
import { rakutenConnector } from './rakuten';

/** Every connector Tally ships, by id. */
export const connectors: Readonly<Record<string, AnyConnector>> = Object.fromEntries(
  ([everflowConnector, impactConnector, clickbankConnector, hasOffersConnector, cakeConnector, awinConnector, cjConnector, partnerizeConnector, rakutenConnector, digistoreConnector, tonicConnector, system1Connector, crossroadsConnector, sedoConnector] as unknown as AnyConnector[]).map((connector) => [connector.id, connector]),
);

/** The connector with this id, or undefined. */
export function findConnector(id: string): AnyConnector | undefined {
  return Object.prototype.hasOwnProperty.call(connectors, id) ? connectors[id] : undefined;
}
