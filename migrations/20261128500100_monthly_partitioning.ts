import type { Knex } from 'knex';

/**
 * Opt-in monthly range partitioning of the two tables that grow without bound (see
 * docs/operations.md). This migration only installs the routines; nothing changes until an
 * operator runs `CALL tally_partition_by_month()` in a maintenance window.
 *
 * Postgres needs the partition key in every unique index, so:
 * - conversions partition by the click's visit time (`visit_at`, copied from the click and never
 *   changed; a trigger on clicks now refuses to change `visited_at`). The identity
 *   (click_id, type, dedup_key) becomes unique together with visit_at — the same guarantee,
 *   because every conversion of a click carries that click's one visit time.
 * - the ledger partitions by receipt time. Its keys that must be unique across partitions —
 *   intake_id, rematch_of, and a pulled rejection's (connection_id, txid, click ID, reason) — move into
 *   small side tables, claimed by a BEFORE INSERT trigger with INSERT … ON CONFLICT DO NOTHING
 *   (so concurrent claims wait for each other exactly as a unique index makes them wait) and
 *   released by an AFTER DELETE trigger (retention). A row whose key is taken is skipped, as the
 *   unique index with ON CONFLICT DO NOTHING skipped it; a repeated pulled rejection is counted
 *   on the row that holds its key, as ON CONFLICT DO UPDATE counted it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(String.raw`
    CREATE FUNCTION tally_month_partitions(parent regclass, from_month date, to_month date) RETURNS integer
    LANGUAGE plpgsql AS $fn$
    DECLARE
      month date := date_trunc('month', from_month)::date;
      made integer := 0;
      part text;
      key text;
      default_part regclass;
    BEGIN
      SELECT a.attname INTO key FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0] WHERE pt.partrelid = parent;
      IF key IS NULL THEN RAISE EXCEPTION '% is not partitioned', parent; END IF;
      SELECT c.oid::regclass INTO default_part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
      WHILE month < to_month LOOP
        part := format('%s_y%sm%s', parent::text, to_char(month, 'YYYY'), to_char(month, 'MM'));
        IF to_regclass(part) IS NULL THEN
          EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
          IF default_part IS NOT NULL THEN
            -- Rows that landed in the default partition before their month existed move in with it
            -- (their keys stay claimed: the release trigger ignores the move).
            PERFORM set_config('tally.moving_rows', 'on', true);
            EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
              default_part, key, month, key, (month + interval '1 month')::date, part);
            PERFORM set_config('tally.moving_rows', 'off', true);
          END IF;
          EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, month, (month + interval '1 month')::date);
          made := made + 1;
        END IF;
        month := (month + interval '1 month')::date;
      END LOOP;
      RETURN made;
    END
    $fn$;
    COMMENT ON FUNCTION tally_month_partitions(regclass, date, date) IS 'Creates the monthly partitions of a partitioned Tally table for [from_month, to_month) that do not exist yet, moving rows in from the default partition. Idempotent; the daily maintenance job runs it 12 months ahead.';

    CREATE FUNCTION tally_ledger_claim_keys() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    DECLARE
      pulled boolean := NEW.outcome = 'rejected' AND NEW.connection_id IS NOT NULL AND NEW.txid IS NOT NULL AND NEW.reason IS NOT NULL;
    BEGIN
      IF pulled AND NEW.rematch_of IS NULL AND NEW.intake_id IS NULL THEN
        -- A pulled record rejected again: logged once per (connection, txid, click ID, reason), then counted.
        INSERT INTO registration_log_pulled_rejections VALUES (NEW.connection_id, NEW.txid, coalesce(NEW.click_id, ''), NEW.reason, NEW.id, NEW.received_at) ON CONFLICT DO NOTHING;
        IF FOUND THEN RETURN NEW; END IF;
        UPDATE registration_log l
           SET times_seen = l.times_seen + NEW.times_seen, last_seen_at = greatest(l.last_seen_at, NEW.last_seen_at),
               message = NEW.message, type = NEW.type, warnings = NEW.warnings, fields = NEW.fields, request = NEW.request
          FROM registration_log_pulled_rejections k
         WHERE k.connection_id = NEW.connection_id AND k.txid = NEW.txid AND k.click_key = coalesce(NEW.click_id, '') AND k.reason = NEW.reason
           AND l.id = k.log_id AND l.received_at = k.received_at;
        RETURN NULL;
      END IF;
      -- Any other attempt is skipped when one of its keys is taken, and claims none of them then.
      IF NEW.intake_id IS NOT NULL THEN
        INSERT INTO registration_log_intake_ids VALUES (NEW.intake_id, NEW.id, NEW.received_at) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN RETURN NULL; END IF;
      END IF;
      IF NEW.rematch_of IS NOT NULL THEN
        INSERT INTO registration_log_rematches VALUES (NEW.rematch_of, NEW.id, NEW.received_at) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
          DELETE FROM registration_log_intake_ids WHERE intake_id = NEW.intake_id AND log_id = NEW.id;
          RETURN NULL;
        END IF;
      END IF;
      IF pulled THEN
        INSERT INTO registration_log_pulled_rejections VALUES (NEW.connection_id, NEW.txid, coalesce(NEW.click_id, ''), NEW.reason, NEW.id, NEW.received_at) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
          DELETE FROM registration_log_intake_ids WHERE intake_id = NEW.intake_id AND log_id = NEW.id;
          DELETE FROM registration_log_rematches WHERE rematch_of = NEW.rematch_of AND log_id = NEW.id;
          RETURN NULL;
        END IF;
      END IF;
      RETURN NEW;
    END
    $fn$;
    COMMENT ON FUNCTION tally_ledger_claim_keys() IS 'Partitioned ledger: claims the keys the unpartitioned table kept unique (intake_id, rematch_of, pulled rejection) in their side tables; see migration 20261128500100.';

    CREATE FUNCTION tally_ledger_release_keys() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF current_setting('tally.moving_rows', true) = 'on' THEN RETURN NULL; END IF;
      IF OLD.intake_id IS NOT NULL THEN DELETE FROM registration_log_intake_ids WHERE intake_id = OLD.intake_id AND log_id = OLD.id; END IF;
      IF OLD.rematch_of IS NOT NULL THEN DELETE FROM registration_log_rematches WHERE rematch_of = OLD.rematch_of AND log_id = OLD.id; END IF;
      IF OLD.outcome = 'rejected' AND OLD.connection_id IS NOT NULL AND OLD.txid IS NOT NULL AND OLD.reason IS NOT NULL THEN
        DELETE FROM registration_log_pulled_rejections
         WHERE connection_id = OLD.connection_id AND txid = OLD.txid AND click_key = coalesce(OLD.click_id, '') AND reason = OLD.reason AND log_id = OLD.id;
      END IF;
      RETURN NULL;
    END
    $fn$;
    COMMENT ON FUNCTION tally_ledger_release_keys() IS 'Partitioned ledger: frees the side-table keys of deleted attempts (retention), as deleting a row of the unpartitioned table freed its unique keys.';

    CREATE FUNCTION tally_click_visit_fixed() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.visited_at IS DISTINCT FROM OLD.visited_at THEN
        RAISE EXCEPTION 'clicks.visited_at of % cannot change: conversions are partitioned by it and their identity includes it', OLD.click_id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END
    $fn$;

    CREATE PROCEDURE tally_partition_by_month(months_ahead integer DEFAULT 12)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      stop date := (date_trunc('month', now()) + make_interval(months => months_ahead + 1))::date;
      oldest date;
      definition text;
      definitions text[];
    BEGIN
      IF (SELECT relkind FROM pg_class WHERE oid = 'conversions'::regclass) = 'p' THEN
        RAISE NOTICE 'conversions and registration_log are partitioned already';
        RETURN;
      END IF;
      LOCK TABLE conversions, registration_log IN ACCESS EXCLUSIVE MODE;

      -- conversions, by the click's visit time.
      SELECT array_agg(pg_get_indexdef(i.indexrelid)) INTO definitions FROM pg_index i WHERE i.indrelid = 'conversions'::regclass AND NOT i.indisunique;
      ALTER TABLE conversions RENAME TO conversions_unpartitioned;
      ALTER TABLE conversions_unpartitioned RENAME CONSTRAINT conversions_pkey TO conversions_unpartitioned_pkey;
      ALTER TABLE conversions_unpartitioned RENAME CONSTRAINT conversions_identity TO conversions_unpartitioned_identity;
      PERFORM tally_rename_indexes('conversions_unpartitioned');
      CREATE TABLE conversions (LIKE conversions_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)
        PARTITION BY RANGE (visit_at);
      ALTER TABLE conversions ADD CONSTRAINT conversions_pkey PRIMARY KEY (id, visit_at);
      ALTER TABLE conversions ADD CONSTRAINT conversions_identity UNIQUE (click_id, type, dedup_key, visit_at);
      ALTER TABLE conversions ADD CONSTRAINT conversions_click_id_fkey FOREIGN KEY (click_id) REFERENCES clicks (click_id);
      FOREACH definition IN ARRAY coalesce(definitions, '{}') LOOP EXECUTE definition; END LOOP;
      CREATE TABLE conversions_default PARTITION OF conversions DEFAULT;
      -- Months from the oldest row (at most five years back; older rows go to the default partition).
      SELECT greatest(min(visit_at), now() - interval '5 years')::date INTO oldest FROM conversions_unpartitioned HAVING count(*) > 0;
      PERFORM tally_month_partitions('conversions', coalesce(oldest, now()::date), stop);
      INSERT INTO conversions OVERRIDING SYSTEM VALUE SELECT * FROM conversions_unpartitioned;
      PERFORM setval(pg_get_serial_sequence('conversions', 'id'), coalesce((SELECT max(id) FROM conversions), 0) + 1, false);
      DROP TABLE conversions_unpartitioned;
      COMMENT ON TABLE conversions IS 'Registered conversions: exactly one row per real conversion. Written only by the registration pipeline. Range-partitioned by visit_at (the click''s visit time) by month; the identity (click_id, type, dedup_key) is unique with visit_at, which is fixed per click.';
      CREATE TRIGGER clicks_visit_fixed BEFORE UPDATE OF visited_at ON clicks FOR EACH ROW EXECUTE FUNCTION tally_click_visit_fixed();

      -- The ledger, by receipt time; its cross-partition keys in side tables.
      SELECT array_agg(pg_get_indexdef(i.indexrelid)) INTO definitions FROM pg_index i WHERE i.indrelid = 'registration_log'::regclass AND NOT i.indisunique;
      ALTER TABLE registration_log RENAME TO registration_log_unpartitioned;
      ALTER TABLE registration_log_unpartitioned RENAME CONSTRAINT registration_log_pkey TO registration_log_unpartitioned_pkey;
      PERFORM tally_rename_indexes('registration_log_unpartitioned');
      CREATE TABLE registration_log (LIKE registration_log_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)
        PARTITION BY RANGE (received_at);
      ALTER TABLE registration_log ADD CONSTRAINT registration_log_pkey PRIMARY KEY (id, received_at);
      FOREACH definition IN ARRAY coalesce(definitions, '{}') LOOP EXECUTE definition; END LOOP;
      -- Lookups the pipeline makes by these keys (uniqueness lives in the side tables).
      CREATE INDEX registration_log_intake_id_idx ON registration_log (intake_id) WHERE intake_id IS NOT NULL;
      CREATE INDEX registration_log_rematch_of_idx ON registration_log (rematch_of) WHERE rematch_of IS NOT NULL;
      CREATE TABLE registration_log_default PARTITION OF registration_log DEFAULT;
      SELECT greatest(min(received_at), now() - interval '5 years')::date INTO oldest FROM registration_log_unpartitioned HAVING count(*) > 0;
      PERFORM tally_month_partitions('registration_log', coalesce(oldest, now()::date), stop);
      INSERT INTO registration_log OVERRIDING SYSTEM VALUE SELECT * FROM registration_log_unpartitioned;
      PERFORM setval(pg_get_serial_sequence('registration_log', 'id'), coalesce((SELECT max(id) FROM registration_log), 0) + 1, false);
      DROP TABLE registration_log_unpartitioned;
      COMMENT ON TABLE registration_log IS 'Ledger of every registration attempt from every route (see the unpartitioned table''s history). Range-partitioned by received_at by month; intake_id, rematch_of and pulled-rejection keys are unique through the side tables registration_log_intake_ids, registration_log_rematches and registration_log_pulled_rejections.';

      CREATE TABLE registration_log_intake_ids (intake_id uuid PRIMARY KEY, log_id bigint NOT NULL, received_at timestamptz NOT NULL);
      CREATE TABLE registration_log_rematches (rematch_of bigint PRIMARY KEY, log_id bigint NOT NULL, received_at timestamptz NOT NULL);
      CREATE TABLE registration_log_pulled_rejections (
        connection_id uuid NOT NULL, txid text NOT NULL, click_key text NOT NULL, reason text NOT NULL, log_id bigint NOT NULL, received_at timestamptz NOT NULL,
        PRIMARY KEY (connection_id, txid, click_key, reason)
      );
      COMMENT ON TABLE registration_log_intake_ids IS 'Partitioned ledger: one row per intake id in the ledger (the id an HTTP request got at receipt), so a request registered twice settles once across partitions. log_id/received_at name the ledger row.';
      COMMENT ON TABLE registration_log_rematches IS 'Partitioned ledger: one row per re-matched attempt (rematch_of), so an attempt is re-registered at most once across partitions.';
      COMMENT ON TABLE registration_log_pulled_rejections IS 'Partitioned ledger: the one ledger row of each pulled rejection (connection, txid, click ID, reason), whose times_seen later sightings raise.';
      COMMENT ON COLUMN registration_log_pulled_rejections.click_key IS 'coalesce(click_id, ''''): a revenue feed''s sub-ids of one day share the txid <feed>:<day>, so the click ID is part of the key.';
      INSERT INTO registration_log_intake_ids SELECT intake_id, id, received_at FROM registration_log WHERE intake_id IS NOT NULL;
      INSERT INTO registration_log_rematches SELECT rematch_of, id, received_at FROM registration_log WHERE rematch_of IS NOT NULL;
      INSERT INTO registration_log_pulled_rejections SELECT connection_id, txid, coalesce(click_id, ''), reason, id, received_at FROM registration_log
       WHERE outcome = 'rejected' AND connection_id IS NOT NULL AND txid IS NOT NULL AND reason IS NOT NULL;
      CREATE TRIGGER registration_log_claim_keys BEFORE INSERT ON registration_log FOR EACH ROW EXECUTE FUNCTION tally_ledger_claim_keys();
      CREATE TRIGGER registration_log_release_keys AFTER DELETE ON registration_log FOR EACH ROW EXECUTE FUNCTION tally_ledger_release_keys();
    END
    $fn$;
    COMMENT ON PROCEDURE tally_partition_by_month(integer) IS 'Opt-in: turns conversions and registration_log into monthly range-partitioned tables (months_ahead months created ahead), keeping every unique guarantee. One transaction holding ACCESS EXCLUSIVE locks: run in a maintenance window. See docs/operations.md.';

    CREATE FUNCTION tally_rename_indexes(tbl regclass) RETURNS void
    LANGUAGE plpgsql AS $fn$
    DECLARE
      index_name text;
    BEGIN
      -- Frees the index names for the partitioned table about to take the old name.
      FOR index_name IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid
                         WHERE i.indrelid = tbl AND k.oid IS NULL LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', index_name, left(index_name, 40) || '_unpartitioned');
      END LOOP;
    END
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  // Partitioned tables stay partitioned (there is no way back short of a dump and restore);
  // only the routines nothing depends on go.
  await knex.raw(`
    DROP PROCEDURE IF EXISTS tally_partition_by_month(integer);
    DROP FUNCTION IF EXISTS tally_rename_indexes(regclass);
    DO $$ BEGIN
      IF (SELECT relkind FROM pg_class WHERE oid = 'conversions'::regclass) <> 'p' THEN
        DROP FUNCTION tally_month_partitions(regclass, date, date);
        DROP FUNCTION tally_ledger_claim_keys();
        DROP FUNCTION tally_ledger_release_keys();
        DROP FUNCTION tally_click_visit_fixed();
      END IF;
    END $$;
  `);
}
