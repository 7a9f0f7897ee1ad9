import { z } from 'zod';
import { findConnector, connectors } from '../../connectors';
import type { AnyConnector } from '../../connectors/kit/types';
import type { Db } from '../db/database';
import { query, type Queryable } from '../db/sql';
import { InputError, NotFoundError } from '../util/errors';
import { isUuid } from '../util/uuid';
import { feedOf, revenueSettings, validateRevenueSchedule } from './revenue-settings';
import { openSecrets, sealSecrets } from './secret-box';

export interface ConnectionRow {
  id: string;
  connector: string;
  name: string;
  config: Record<string, unknown>;
  secrets_encrypted: string;
  every_minutes: number;
  lookback_days: number | null;
  /** Revenue feeds: NULL uses the feed's default. */
  estimate_days: number | null;
  final_after_days: number | null;
  network_id: string | null;
  offer_id: string | null;
  conversion_type: string | null;
  enabled: boolean;
  healthy: boolean;
  last_error: string | null;
  last_error_at: Date | null;
  last_success_at: Date | null;
  warnings: string[];
  created_at: Date;
  updated_at: Date;
}

/** A connection ready to pull: its row, its connector and its full, decrypted, validated config. */
export interface LoadedConnection {
  readonly row: ConnectionRow;
  readonly connector: AnyConnector;
  readonly config: Record<string, unknown>;
}

export interface ConnectionInput {
  connector: string;
  name: string;
  config: Record<string, unknown>;
  every_minutes?: number;
  lookback_days?: number | null;
  /** Revenue feeds only: days pulled on every tick while estimated, and the age of the final pull. */
  estimate_days?: number | null;
  final_after_days?: number | null;
  network_id?: string | null;
  offer_id?: string | null;
  conversion_type?: string | null;
  enabled?: boolean;
}

export const REDACTED = '[redacted]';

/** Validates a config against its connector's schema; the message names the field and the fix. */
export function validateConfig(connector: AnyConnector, config: unknown): Record<string, unknown> {
  const parsed = connector.configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'config';
    throw new InputError(`config.${field}: ${issue?.message ?? 'invalid'} (connector ${connector.id})`, 'invalid_config');
  }
  return parsed.data;
}

function connectorOrThrow(id: string): AnyConnector {
  const connector = findConnector(id);
  if (!connector) throw new InputError(`unknown connector "${id}"; available: ${Object.keys(connectors).join(', ')}`, 'unknown_connector');
  return connector;
}

function split(connector: AnyConnector, config: Record<string, unknown>): { visible: Record<string, unknown>; secret: Record<string, unknown> } {
  const visible: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (connector.secretFields.includes(name)) secret[name] = value;
    else visible[name] = value;
  }
  return { visible, secret };
}

/** The connection as the API shows it: secrets replaced by "[redacted]", never the ciphertext. */
export function connectionView(row: ConnectionRow) {
  const connector = findConnector(row.connector);
  const config: Record<string, unknown> = { ...row.config };
  for (const name of connector?.secretFields ?? []) config[name] = REDACTED;
  return {
    id: row.id,
    connector: row.connector,
    name: row.name,
    config,
    every_minutes: row.every_minutes,
    lookback_days: row.lookback_days ?? connector?.defaultLookbackDays ?? null,
    ...scheduleView(connector, row),
    network_id: row.network_id,
    offer_id: row.offer_id,
    conversion_type: row.conversion_type,
    enabled: row.enabled,
    healthy: row.healthy,
    last_error: row.last_error,
    last_error_at: row.last_error_at?.toISOString() ?? null,
    last_success_at: row.last_success_at?.toISOString() ?? null,
    warnings: row.warnings ?? [],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** A revenue feed's effective schedule (its own or the feed's defaults); null for conversion connectors. */
function scheduleView(connector: AnyConnector | undefined, row: ConnectionRow): { estimate_days: number | null; final_after_days: number | null } {
  const feed = connector ? feedOf(connector) : undefined;
  if (!feed) return { estimate_days: null, final_after_days: null };
  const settings = revenueSettings(feed, row);
  return { estimate_days: settings.estimateDays, final_after_days: settings.finalAfterDays };
}

const SELECT = 'SELECT * FROM connections';

/** Creates a connection; the secret part of its config is encrypted with `key`. */
export async function createConnection(db: Db, key: Buffer, input: ConnectionInput): Promise<ConnectionRow> {
  const connector = connectorOrThrow(input.connector);
  const config = validateConfig(connector, input.config);
  validateRevenueSchedule(connector, input);
  const { visible, secret } = split(connector, config);
  const [row] = await query<ConnectionRow>(db, `INSERT INTO connections (connector, name, config, secrets_encrypted, every_minutes, lookback_days, network_id, offer_id, conversion_type, enabled, warnings,
                              estimate_days, final_after_days)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13) RETURNING *`,
    [
      connector.id, input.name, JSON.stringify(visible), sealSecrets(secret, key), input.every_minutes ?? feedOf(connector)?.everyMinutes ?? 60, input.lookback_days ?? null,
      input.network_id ?? null, input.offer_id ?? null, input.conversion_type ?? null, input.enabled ?? true, JSON.stringify(connectorWarnings(connector, config)),
      input.estimate_days ?? null, input.final_after_days ?? null,
    ],
  );
  return row as ConnectionRow;
}

/**
 * Refuses a change of a host-deciding field (`base_url`, HasOffers' `network_id`, …) unless every
 * secret comes along in the same change: otherwise the stored credentials would go to whatever
 * host the new value names.
 */
function assertHostChangeCarriesSecrets(connector: AnyConnector, current: Record<string, unknown>, changes: Record<string, unknown>): void {
  const changed = connector.hostFields.filter((field) => field in changes && JSON.stringify(changes[field] ?? null) !== JSON.stringify(current[field] ?? null));
  if (changed.length === 0) return;
  const missing = connector.secretFields.filter((field) => changes[field] === undefined || changes[field] === REDACTED || changes[field] === '');
  if (missing.length === 0) return;
  throw new InputError(
    `config.${changed.join(', config.')} decides where the connection's credentials are sent: send ${missing.map((field) => `config.${field}`).join(' and ')} again in the same request to change it`,
    'secrets_required',
  );
}

/** The connector's caveats for this config (shown on the connection). */
function connectorWarnings(connector: AnyConnector, config: Record<string, unknown>): string[] {
  return connector.warnings(config);
}

/** Changes a connection. `config` is merged over the stored one, so secrets need not be re-sent (except with a new host). */
export async function updateConnection(db: Db, key: Buffer, id: string, changes: Partial<Omit<ConnectionInput, 'connector'>>): Promise<ConnectionRow> {
  const current = await loadConnection(db, key, id, { validate: false });
  validateRevenueSchedule(current.connector, changes, current.row);
  let visible = current.row.config;
  let sealed = current.row.secrets_encrypted;
  let warnings = current.row.warnings ?? [];
  if (changes.config) {
    const sent = stripRedacted(changes.config);
    assertHostChangeCarriesSecrets(current.connector, current.config, changes.config);
    const merged = validateConfig(current.connector, { ...current.config, ...sent });
    const parts = split(current.connector, merged);
    visible = parts.visible;
    sealed = sealSecrets(parts.secret, key);
    warnings = connectorWarnings(current.connector, merged);
  }
  const [row] = await query<ConnectionRow>(db, `UPDATE connections SET name = $1, config = $2::jsonb, secrets_encrypted = $3, every_minutes = $4, lookback_days = $5, network_id = $6, offer_id = $7,
            conversion_type = $8, enabled = $9, updated_at = now(), healthy = CASE WHEN $10 THEN true ELSE healthy END,
            last_error = CASE WHEN $11 THEN NULL ELSE last_error END, warnings = $13::jsonb, estimate_days = $14, final_after_days = $15
      WHERE id = $12 RETURNING *`,
    [
      changes.name ?? current.row.name, JSON.stringify(visible), sealed, changes.every_minutes ?? current.row.every_minutes,
      changes.lookback_days === undefined ? current.row.lookback_days : changes.lookback_days,
      changes.network_id === undefined ? current.row.network_id : changes.network_id,
      changes.offer_id === undefined ? current.row.offer_id : changes.offer_id,
      changes.conversion_type === undefined ? current.row.conversion_type : changes.conversion_type,
      changes.enabled ?? current.row.enabled, changes.config !== undefined, changes.config !== undefined, id, JSON.stringify(warnings),
      changes.estimate_days === undefined ? current.row.estimate_days : changes.estimate_days,
      changes.final_after_days === undefined ? current.row.final_after_days : changes.final_after_days,
    ],
  );
  return row as ConnectionRow;
}

function stripRedacted(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== REDACTED));
}

export async function deleteConnection(db: Db, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await query(db, 'DELETE FROM connections WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}

export async function findConnectionRow(db: Queryable, id: string): Promise<ConnectionRow | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await query<ConnectionRow>(db, `${SELECT} WHERE id = $1`, [id]);
  return row;
}

export async function listConnections(db: Queryable, options: { enabledOnly?: boolean } = {}): Promise<ConnectionRow[]> {
  return query<ConnectionRow>(db, `${SELECT} ${options.enabledOnly ? 'WHERE enabled' : ''} ORDER BY created_at`);
}

/** Loads and decrypts a connection. With `validate` (default) a config that no longer fits its schema throws. */
export async function loadConnection(db: Queryable, key: Buffer, id: string, options: { validate?: boolean } = {}): Promise<LoadedConnection> {
  const row = await findConnectionRow(db, id);
  if (!row) throw new NotFoundError(`connection ${id} does not exist`, 'connection_not_found');
  const connector = connectorOrThrow(row.connector);
  const secret = openSecrets(row.secrets_encrypted, key) as Record<string, unknown>;
  const raw = { ...row.config, ...secret };
  const config = options.validate === false ? raw : validateConfig(connector, raw);
  return { row, connector, config };
}

/** Records a failed or successful pull on the connection (healthy flag and message; a success refreshes the warnings). */
export async function markConnectionHealth(db: Queryable, id: string, outcome: { healthy: true; warnings?: string[] } | { healthy: false; error: string }): Promise<void> {
  if (outcome.healthy) {
    await query(db, 'UPDATE connections SET healthy = true, last_error = NULL, last_success_at = now(), warnings = COALESCE($2::jsonb, warnings) WHERE id = $1', [id, outcome.warnings ? JSON.stringify(outcome.warnings) : null]);
  } else {
    await query(db, 'UPDATE connections SET healthy = false, last_error = $1, last_error_at = now() WHERE id = $2', [outcome.error.slice(0, 2000), id]);
  }
}

/** JSON Schema of a connector's config for the API; credentials are marked writeOnly. */
export function connectorJsonSchema(connector: AnyConnector): Record<string, unknown> {
  const schema = z.toJSONSchema(connector.configSchema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Record<string, unknown>> };
  for (const name of connector.secretFields) {
    if (schema.properties?.[name]) schema.properties[name] = { ...schema.properties[name], writeOnly: true };
  }
  return schema as Record<string, unknown>;
}
