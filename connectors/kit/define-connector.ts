import type { Connector } from './types';

/**
 * Declares a connector. Exists for type inference and to check the invariants every connector
 * must keep (a base_url override, sane windows) when the module loads, not at the first pull.
 */
export function defineConnector<Config>(definition: Connector<Config>): Connector<Config> {
  const shape = (definition.configSchema as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape && !('base_url' in shape)) throw new Error(`connector ${definition.id}: config schema must accept base_url`);
  if (!(definition.maxWindowDays > 0)) throw new Error(`connector ${definition.id}: maxWindowDays must be positive`);
  if (definition.defaultLookbackDays < 0) throw new Error(`connector ${definition.id}: defaultLookbackDays must not be negative`);
  return definition;
}
