import { openSecrets, sealSecrets } from '../connections/secret-box';
import { query, queryOne, type Queryable } from '../db/sql';
import type { DuplicatePolicy } from '../pipeline/types';
import { tokenDigest } from '../trust/token-digest';
import { acceptedRoutes, acceptsBrowserRoutes, type NetworkTrust, type TrackingRoute } from '../trust/trust-policy';
import { InputError, NotFoundError } from '../util/errors';
import { isUuid } from '../util/uuid';

/** A network row without its secrets. */
export interface NetworkRow {
  id: string;
  name: string;
  currency: string | null;
  duplicate_policy: DuplicatePolicy;
  postback_ips: string[] | null;
  postback_token_digest: string | null;
  previous_token_digest: string | null;
  previous_token_expires_at: Date | null;
  accepted_routes: TrackingRoute[] | null;
  created_at: Date;
  updated_at: Date;
}

export interface NetworkChanges {
  name?: string;
  currency?: string | null;
  duplicate_policy?: DuplicatePolicy;
  postback_ips?: string[] | null;
  /** A new token (rotation keeps the old one valid until previous_token_expires_at), or null to remove it. */
  postback_token?: string | null;
  previous_token_expires_at?: Date;
  accepted_routes?: TrackingRoute[] | null;
}

/** How long a rotated-out token stays valid when the caller does not say. */
export const DEFAULT_ROTATION_GRACE_MS = 7 * 24 * 3600 * 1000;
export const MIN_TOKEN_LENGTH = 16;

const COLUMNS = `id, name, currency, duplicate_policy, postback_ips::text[] AS postback_ips, postback_token_digest, previous_token_digest,
                 previous_token_expires_at, accepted_routes, created_at, updated_at`;

function checkToken(token: string | null | undefined): void {
  if (typeof token === 'string' && token.length < MIN_TOKEN_LENGTH) {
    throw new InputError(`postback_token must be at least ${MIN_TOKEN_LENGTH} characters (generate one with \`openssl rand -hex 16\`)`, 'invalid_token');
  }
  if (typeof token === 'string' && !/^[A-Za-z0-9._~-]+$/.test(token)) {
    throw new InputError('postback_token may hold only letters, digits and . _ ~ - (it is pasted into URLs as is)', 'invalid_token');
  }
}

/** Creates a network; its token, when given, is stored encrypted and as a digest. */
export async function createNetwork(db: Queryable, key: Buffer, input: NetworkChanges & { name: string }): Promise<NetworkRow> {
  checkToken(input.postback_token);
  const token = input.postback_token ?? null;
  const row = await queryOne<NetworkRow>(
    db,
    `INSERT INTO networks (name, currency, duplicate_policy, postback_ips, postback_token_encrypted, postback_token_digest, accepted_routes)
     VALUES ($1, $2, $3, $4::cidr[], $5, $6, $7::text[])
     RETURNING ${COLUMNS}`,
    [
      input.name, input.currency ?? null, input.duplicate_policy ?? 'ignore', input.postback_ips ?? null,
      token === null ? null : sealSecrets(token, key), token === null ? null : tokenDigest(key, token), input.accepted_routes ?? null,
    ],
  );
  return row as NetworkRow;
}

/**
 * Changes a network in one statement (no read-then-write). A new token rotates: the current one
 * stays valid until `previous_token_expires_at` (default seven days), so networks can be updated
 * without losing postbacks in between. `null` clears a field.
 */
export async function updateNetwork(db: Queryable, key: Buffer, id: string, changes: NetworkChanges, now = new Date()): Promise<NetworkRow> {
  if (!isUuid(id)) throw new NotFoundError(`network ${id.slice(0, 80)} does not exist`, 'network_not_found');
  checkToken(changes.postback_token);
  const has = (name: keyof NetworkChanges): boolean => Object.prototype.hasOwnProperty.call(changes, name) && changes[name] !== undefined;
  const tokenGiven = Object.prototype.hasOwnProperty.call(changes, 'postback_token') && changes.postback_token !== undefined;
  const token = changes.postback_token ?? null;
  const graceUntil = changes.previous_token_expires_at ?? new Date(now.getTime() + DEFAULT_ROTATION_GRACE_MS);
  const row = await queryOne<NetworkRow>(
    db,
    `UPDATE networks SET
        name = CASE WHEN $2 THEN $3 ELSE name END,
        currency = CASE WHEN $4 THEN $5 ELSE currency END,
        duplicate_policy = CASE WHEN $6 THEN $7 ELSE duplicate_policy END,
        postback_ips = CASE WHEN $8 THEN $9::cidr[] ELSE postback_ips END,
        accepted_routes = CASE WHEN $10 THEN $11::text[] ELSE accepted_routes END,
        -- Rotation: the outgoing token stays valid for a while; removing the token removes both.
        previous_token_digest = CASE WHEN NOT $12 THEN previous_token_digest
                                     WHEN $13::text IS NULL THEN NULL
                                     WHEN postback_token_digest IS DISTINCT FROM $13 THEN postback_token_digest
                                     ELSE previous_token_digest END,
        previous_token_expires_at = CASE WHEN NOT $12 THEN previous_token_expires_at
                                         WHEN $13::text IS NULL THEN NULL
                                         WHEN postback_token_digest IS NULL THEN NULL
                                         WHEN postback_token_digest IS DISTINCT FROM $13 THEN $14::timestamptz
                                         ELSE previous_token_expires_at END,
        postback_token_digest = CASE WHEN $12 THEN $13 ELSE postback_token_digest END,
        postback_token_encrypted = CASE WHEN $12 THEN $15 ELSE postback_token_encrypted END,
        updated_at = now()
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [
      id,
      has('name'), changes.name ?? null,
      Object.prototype.hasOwnProperty.call(changes, 'currency') && changes.currency !== undefined, changes.currency ?? null,
      has('duplicate_policy'), changes.duplicate_policy ?? null,
      Object.prototype.hasOwnProperty.call(changes, 'postback_ips') && changes.postback_ips !== undefined, changes.postback_ips ?? null,
      Object.prototype.hasOwnProperty.call(changes, 'accepted_routes') && changes.accepted_routes !== undefined, changes.accepted_routes ?? null,
      tokenGiven, token === null ? null : tokenDigest(key, token), graceUntil.toISOString(), token === null ? null : sealSecrets(token, key),
    ],
  );
  if (!row) throw new NotFoundError(`network ${id} does not exist`, 'network_not_found');
  return row;
}

export async function findNetwork(db: Queryable, id: string): Promise<NetworkRow | undefined> {
  if (!isUuid(id)) return undefined;
  return queryOne<NetworkRow>(db, `SELECT ${COLUMNS} FROM networks WHERE id = $1`, [id]);
}

/** Every network, oldest first (a tracker has tens, not thousands). */
export async function listNetworks(db: Queryable): Promise<NetworkRow[]> {
  return query<NetworkRow>(db, `SELECT ${COLUMNS} FROM networks ORDER BY created_at, id LIMIT 10000`);
}

/** The network's own postback token in clear, for the one answer whose job is to show it (the templates). */
export async function networkPostbackToken(db: Queryable, key: Buffer, id: string): Promise<string | null> {
  if (!isUuid(id)) return null;
  const row = await queryOne<{ sealed: string | null }>(db, 'SELECT postback_token_encrypted AS sealed FROM networks WHERE id = $1', [id]);
  return row?.sealed ? (openSecrets(row.sealed, key) as string) : null;
}

/** The trust settings the policy reads, from a row. */
export function networkTrust(row: NetworkRow): NetworkTrust {
  return {
    tokenDigest: row.postback_token_digest,
    previousTokenDigest: row.previous_token_digest,
    previousTokenExpiresAt: row.previous_token_expires_at,
    postbackIps: row.postback_ips,
    acceptedRoutes: row.accepted_routes,
  };
}

/**
 * A network as the API shows it: the token never (only whether one is set), the routes it
 * accepts in effect, and a warning when browser routes make its conversions forgeable.
 */
export function networkView(row: NetworkRow, globalTokenDigest: string | null, now = new Date()) {
  const trust = networkTrust(row);
  const routes = acceptedRoutes(trust, globalTokenDigest);
  const forgeable = acceptsBrowserRoutes(trust, globalTokenDigest);
  const warnings: string[] = [];
  if (forgeable) {
    warnings.push(
      `accepts ${routes.filter((route) => route !== 'postback').join(' and ')} conversions: browser routes cannot carry a secret, so anyone who knows a click ID of this network can register a conversion for it. ` +
        'Set a postback_token (or postback_ips) and leave accepted_routes unset to accept S2S postbacks only',
    );
  }
  if (row.postback_token_digest === null && globalTokenDigest === null && (row.postback_ips?.length ?? 0) === 0) {
    warnings.push('S2S postbacks for this network need no token and may come from any address; set postback_token or postback_ips');
  }
  const rotating = row.previous_token_digest !== null && row.previous_token_expires_at !== null && row.previous_token_expires_at > now;
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    duplicate_policy: row.duplicate_policy,
    postback_ips: row.postback_ips,
    postback_token: row.postback_token_digest === null ? null : '[redacted]',
    has_postback_token: row.postback_token_digest !== null,
    previous_token_expires_at: rotating ? (row.previous_token_expires_at as Date).toISOString() : null,
    accepted_routes: [...routes],
    accepted_routes_default: row.accepted_routes === null,
    forgeable,
    warnings,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
