import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE console_sessions (
      id_digest text PRIMARY KEY,
      admin_token_digest text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
    COMMENT ON TABLE console_sessions IS 'Operator console sessions (login form at /console/login). Kept server-side so that logging out ends a session in every serve process; expired rows are deleted at the next login.';
    COMMENT ON COLUMN console_sessions.id_digest IS 'HMAC-SHA256 (SECRET_KEY) of the session id the cookie carries; the id itself is never stored, so a copy of this table opens no session.';
    COMMENT ON COLUMN console_sessions.admin_token_digest IS 'HMAC-SHA256 (SECRET_KEY) of the admin token the operator logged in with: changing ADMIN_TOKEN ends every session opened with the old one.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE console_sessions');
}
