import { createHmac, randomBytes } from 'node:crypto';
import type { Db } from '../db/database';
import { query, queryOne } from '../db/sql';

/** How long a console login lasts. */
export const SESSION_TTL_MS = 12 * 3600 * 1000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Console sessions, kept in Postgres so that every `serve` process behind a load balancer knows
 * them and logging out ends them everywhere. The cookie carries a random id; the table keeps only
 * its HMAC under SECRET_KEY, and the digest of the admin token the session was opened with, so a
 * new ADMIN_TOKEN ends every older session.
 */
export class ConsoleSessions {
  private readonly tokenDigest: string;

  constructor(
    private readonly db: Db,
    private readonly secretKey: Buffer,
    adminToken: string,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {
    this.tokenDigest = this.digest(`admin-token:${adminToken}`);
  }

  /** Opens a session for an operator who proved the admin token; returns the id for the cookie. */
  async open(now = new Date()): Promise<{ id: string; expiresAt: Date }> {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    // Expired sessions are cleared here: logins are rare, so this bounds the table at no cost.
    await query(this.db, 'DELETE FROM console_sessions WHERE expires_at < now()');
    await query(this.db, 'INSERT INTO console_sessions (id_digest, admin_token_digest, expires_at) VALUES ($1, $2, $3)', [this.sessionDigest(id), this.tokenDigest, expiresAt]);
    return { id, expiresAt };
  }

  /** True while the session exists, has not expired and was opened with the current admin token. */
  async isValid(id: string | undefined): Promise<boolean> {
    if (id === undefined || !SESSION_ID.test(id)) return false;
    const row = await queryOne(this.db, 'SELECT 1 FROM console_sessions WHERE id_digest = $1 AND admin_token_digest = $2 AND expires_at > now()', [
      this.sessionDigest(id),
      this.tokenDigest,
    ]);
    return row !== undefined;
  }

  /** Ends a session (logout). */
  async close(id: string | undefined): Promise<void> {
    if (id === undefined || !SESSION_ID.test(id)) return;
    await query(this.db, 'DELETE FROM console_sessions WHERE id_digest = $1', [this.sessionDigest(id)]);
  }

  private sessionDigest(id: string): string {
    return this.digest(`console-session:${id}`);
  }

  private digest(text: string): string {
    return createHmac('sha256', this.secretKey).update(text, 'utf8').digest('hex');
  }
}
