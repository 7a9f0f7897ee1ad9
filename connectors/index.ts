import { clickbankConnector } from './clickbank';
import { everflowConnector } from './everflow';
import { impactConnector } from './impact';
import type { Connector } from './kit/types';

/** Every connector Tally ships, by id. */
export const connectors: Readonly<Record<string, Connector<Record<string, unknown>>>> = {
  [everflowConnector.id]: everflowConnector as unknown as Connector<Record<string, unknown>>,
  [impactConnector.id]: impactConnector as unknown as Connector<Record<string, unknown>>,
  [clickbankConnector.id]: clickbankConnector as unknown as Connector<Record<string, unknown>>,
};

/** The connector with this id, or undefined. */
export function findConnector(id: string): Connector<Record<string, unknown>> | undefined {
  return Object.prototype.hasOwnProperty.call(connectors, id) ? connectors[id] : undefined;
}
