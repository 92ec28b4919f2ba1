/// The fleet database's schema: numbered migrations, applied in order by `lockdiag fleet init` (each once, recorded in
/// `fleet.schema_migration`). Never edit a shipped one: add the next. docs/fleet.md describes the tables, roles,
/// functions and views.
public enum FleetSchema {
    /// (identifier, SQL), oldest first.
    public static let migrations: [(id: String, sql: String)] = [("fleet-v1", v1), ("fleet-v2-signed-reports", v2)]

    /// Roles are cluster-wide, so they are created only when missing; everything else lives in the schema `fleet`.
    ///
    /// Every row a station sends is keyed by (station, the station's own sequence number — its SQLite row id): a
    /// resend is `ON CONFLICT DO NOTHING`. `station` is the PostgreSQL role the station logs in as, and row-level
    /// security lets a station insert only rows whose `station` is its own name (`current_user`).
    ///
    /// Sizing: a year of 500 stations at a few thousand fault events and self-tests each a day is a few hundred
    /// million rows; every question reads by time, serial or (model, firmware, time), and each has its index.
    static let v1 = #"""
    DO $roles$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet_station') THEN CREATE ROLE fleet_station NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet_analyst') THEN CREATE ROLE fleet_analyst NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet_enroller') THEN CREATE ROLE fleet_enroller NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleet_admin') THEN CREATE ROLE fleet_admin NOLOGIN; END IF;
    END $roles$;
    GRANT fleet_analyst, fleet_enroller TO fleet_admin;

    GRANT USAGE ON SCHEMA fleet TO fleet_station, fleet_analyst, fleet_enroller;

    CREATE TABLE fleet.station (
        name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        enrolled_by text NOT NULL DEFAULT session_user);

    CREATE TABLE fleet.station_key (
        fingerprint text PRIMARY KEY,
        station text NOT NULL REFERENCES fleet.station (name),
        public_key text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'revoked')),
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        approved_at timestamptz, approved_by text,
        revoked_at timestamptz, revoked_by text, revoke_reason text);
    CREATE INDEX station_key_by_station ON fleet.station_key (station);

    CREATE TABLE fleet.device (
        station text NOT NULL, device text NOT NULL,
        serial text, model text, hardware_revision text, transport text,
        first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL,
        PRIMARY KEY (station, device));
    CREATE INDEX device_by_serial ON fleet.device (serial);

    CREATE TABLE fleet.firmware_seen (
        station text NOT NULL, device text NOT NULL, version text NOT NULL,
        first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL,
        PRIMARY KEY (station, device, version));

    -- serial, model and firmware are the lock's when the event happened, copied by the station.
    CREATE TABLE fleet.fault_event (
        station text NOT NULL, seq bigint NOT NULL,
        device text NOT NULL, serial text, model text, firmware text,
        code text NOT NULL, name text NOT NULL, title text NOT NULL, severity text NOT NULL,
        event text NOT NULL, status text, at timestamptz NOT NULL, count integer NOT NULL,
        source text NOT NULL, evidence text NOT NULL, freeze_frame jsonb, advice text NOT NULL, cleared_by text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq));
    CREATE INDEX fault_event_by_time ON fleet.fault_event (at);
    CREATE INDEX fault_event_by_serial ON fleet.fault_event (serial, at);
    CREATE INDEX fault_event_by_model ON fleet.fault_event (model, firmware, at);

    -- run: the whole self-test run with its measurements, as the socket API's TestRun (docs/socket-api.md).
    CREATE TABLE fleet.test_run (
        station text NOT NULL, seq bigint NOT NULL,
        device text NOT NULL, serial text, model text, firmware text,
        test text NOT NULL, verdict text NOT NULL, started_at timestamptz NOT NULL, duration_ms integer NOT NULL,
        requested_by text, run jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq));
    CREATE INDEX test_run_by_time ON fleet.test_run (started_at);
    CREATE INDEX test_run_by_serial ON fleet.test_run (serial, started_at);

    CREATE TABLE fleet.audit_event (
        station text NOT NULL, seq bigint NOT NULL,
        at timestamptz NOT NULL, uid bigint, gid bigint, pid integer, client text, connection bigint NOT NULL,
        role text, method text NOT NULL, params text NOT NULL, outcome text NOT NULL, error_code integer, error_message text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq));
    CREATE INDEX audit_event_by_time ON fleet.audit_event (at);

    -- Each station's high-water mark per stream, moved in the same transaction as the rows it covers.
    CREATE TABLE fleet.sync_mark (
        station text NOT NULL, stream text NOT NULL, high_water bigint NOT NULL,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, stream));

    -- A station writes only its own rows, and reads back only what an upsert or its mark needs.
    DO $rls$ DECLARE t text; BEGIN
        FOREACH t IN ARRAY ARRAY['device', 'firmware_seen', 'fault_event', 'test_run', 'audit_event', 'sync_mark'] LOOP
            EXECUTE format('ALTER TABLE fleet.%I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE format('CREATE POLICY own_rows ON fleet.%I TO fleet_station USING (station = current_user) WITH CHECK (station = current_user)', t);
            EXECUTE format('CREATE POLICY read_all ON fleet.%I FOR SELECT TO fleet_analyst USING (true)', t);
        END LOOP;
    END $rls$;
    -- ON CONFLICT (station, seq) reads the key columns (of its own rows only, under the policy).
    GRANT INSERT, SELECT (station, seq) ON fleet.fault_event, fleet.test_run, fleet.audit_event TO fleet_station;
    GRANT SELECT, INSERT, UPDATE ON fleet.device, fleet.firmware_seen, fleet.sync_mark TO fleet_station;
    GRANT SELECT ON ALL TABLES IN SCHEMA fleet TO fleet_analyst;

    -- Enrolment: creates the station's login role (a member of fleet_station) and records its key as pending.
    CREATE FUNCTION fleet.enroll_station(p_station text, p_public_key text, p_password text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
    DECLARE
        v_fingerprint text;
        v_owner text;
    BEGIN
        IF p_station IS NULL OR p_station !~ '^[a-z][a-z0-9_]{0,62}$' THEN
            RAISE EXCEPTION 'station name "%" is not allowed', p_station USING ERRCODE = '22023',
                HINT = 'use lower-case letters, digits and _, starting with a letter (at most 63)';
        END IF;
        IF p_public_key IS NULL OR length(decode(p_public_key, 'base64')) <> 32 THEN
            RAISE EXCEPTION 'not an Ed25519 public key: %', p_public_key USING ERRCODE = '22023',
                HINT = 'give the base64 key that `lockdiag key --public` prints';
        END IF;
        v_fingerprint := 'SHA256:' || rtrim(encode(sha256(decode(p_public_key, 'base64')), 'base64'), '=');
        IF NOT EXISTS (SELECT FROM fleet.station WHERE name = p_station) THEN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = p_station) THEN
                RAISE EXCEPTION 'a PostgreSQL role "%" exists and is not a fleet station', p_station USING ERRCODE = '42710',
                    HINT = 'choose another station name with --station';
            END IF;
            EXECUTE format('CREATE ROLE %I LOGIN IN ROLE fleet_station', p_station);
            IF p_password IS NOT NULL THEN EXECUTE format('ALTER ROLE %I PASSWORD %L', p_station, p_password); END IF;
            INSERT INTO fleet.station (name) VALUES (p_station);
        ELSIF p_password IS NOT NULL AND NOT pg_has_role(session_user, 'fleet_admin', 'MEMBER') THEN
            RAISE EXCEPTION 'station "%" is enrolled already', p_station USING ERRCODE = '42710',
                HINT = 'enroll its new key without a password, or ask an administrator to reset it';
        ELSIF p_password IS NOT NULL THEN
            EXECUTE format('ALTER ROLE %I PASSWORD %L', p_station, p_password);
        END IF;
        SELECT station INTO v_owner FROM fleet.station_key WHERE fingerprint = v_fingerprint;
        IF v_owner IS NOT NULL AND v_owner <> p_station THEN
            RAISE EXCEPTION 'key % is enrolled for station "%"', v_fingerprint, v_owner USING ERRCODE = '23505',
                HINT = 'each station has its own key: make one with lockdiagd on that station';
        END IF;
        INSERT INTO fleet.station_key (fingerprint, station, public_key) VALUES (v_fingerprint, p_station, p_public_key)
            ON CONFLICT (fingerprint) DO NOTHING;
        RETURN v_fingerprint;
    END $f$;

    CREATE FUNCTION fleet.approve_key(p_fingerprint text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
    DECLARE v_status text;
    BEGIN
        SELECT status INTO v_status FROM fleet.station_key WHERE fingerprint = p_fingerprint FOR UPDATE;
        IF v_status IS NULL THEN
            RAISE EXCEPTION 'no enrolled key %', p_fingerprint USING ERRCODE = '02000',
                HINT = 'list the keys: SELECT * FROM fleet.station_keys';
        ELSIF v_status = 'revoked' THEN
            RAISE EXCEPTION 'key % was revoked', p_fingerprint USING ERRCODE = '22023',
                HINT = 'a revoked key stays revoked: enroll a new key for the station';
        END IF;
        UPDATE fleet.station_key SET status = 'approved', approved_at = coalesce(approved_at, now()),
            approved_by = coalesce(approved_by, session_user) WHERE fingerprint = p_fingerprint;
    END $f$;

    -- p_at: when the key stopped being trustworthy (default now); reports signed from then on are flagged.
    CREATE FUNCTION fleet.revoke_key(p_fingerprint text, p_at timestamptz DEFAULT now(), p_reason text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
    BEGIN
        UPDATE fleet.station_key SET status = 'revoked', revoked_at = p_at, revoked_by = session_user, revoke_reason = p_reason
            WHERE fingerprint = p_fingerprint;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no enrolled key %', p_fingerprint USING ERRCODE = '02000',
                HINT = 'list the keys: SELECT * FROM fleet.station_keys';
        END IF;
    END $f$;

    -- Whether a report signed with p_fingerprint at p_made_at is to be trusted: the key was enrolled and approved,
    -- and not revoked at that time.
    CREATE FUNCTION fleet.key_verdict(p_fingerprint text, p_made_at timestamptz)
    RETURNS TABLE (station text, status text, trusted boolean, detail text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
        SELECT k.station, k.status,
               k.approved_at IS NOT NULL AND k.enrolled_at <= p_made_at AND (k.revoked_at IS NULL OR k.revoked_at > p_made_at),
               CASE
                   WHEN k.revoked_at IS NOT NULL AND k.revoked_at <= p_made_at
                       THEN 'the key was revoked at ' || k.revoked_at || coalesce(' (' || k.revoke_reason || ')', '') || ', before the report was made'
                   WHEN k.approved_at IS NULL THEN 'the key is enrolled but not approved'
                   WHEN k.enrolled_at > p_made_at THEN 'the report was made before the key was enrolled (' || k.enrolled_at || ')'
                   WHEN k.revoked_at IS NOT NULL THEN 'enrolled and approved; revoked later, at ' || k.revoked_at
                   ELSE 'enrolled and approved, not revoked'
               END
        FROM fleet.station_key k WHERE k.fingerprint = p_fingerprint
    $f$;

    REVOKE ALL ON FUNCTION fleet.enroll_station(text, text, text), fleet.approve_key(text),
        fleet.revoke_key(text, timestamptz, text), fleet.key_verdict(text, timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION fleet.enroll_station(text, text, text) TO fleet_enroller;
    GRANT EXECUTE ON FUNCTION fleet.approve_key(text), fleet.revoke_key(text, timestamptz, text) TO fleet_admin;
    GRANT EXECUTE ON FUNCTION fleet.key_verdict(text, timestamptz) TO fleet_station, fleet_analyst, fleet_enroller;

    -- Views for dashboards (docs/fleet.md), readable by fleet_analyst.
    CREATE VIEW fleet.station_keys AS
        SELECT station, fingerprint, status, enrolled_at, approved_at, approved_by, revoked_at, revoked_by, revoke_reason
        FROM fleet.station_key;

    CREATE VIEW fleet.fault_counts AS
        SELECT date_trunc('day', at) AS day, code, name, model, firmware,
               count(*) FILTER (WHERE event IN ('raised', 'reoccurred')) AS occurrences,
               count(*) FILTER (WHERE event = 'confirmed') AS confirmed,
               count(DISTINCT coalesce(serial, station || '/' || device)) AS locks,
               count(DISTINCT station) AS stations
        FROM fleet.fault_event GROUP BY 1, 2, 3, 4, 5;

    -- ord and seq order entries of one station at the same time: first sighting, firmware, then events as they happened.
    CREATE VIEW fleet.lock_timeline AS
        SELECT d.serial, d.first_seen AS at, d.station, d.device, 'first seen' AS kind,
               concat_ws(' ', d.model, d.hardware_revision, 'over', d.transport) AS detail, 0 AS ord, 0::bigint AS seq
        FROM fleet.device d WHERE d.serial IS NOT NULL
        UNION ALL
        SELECT d.serial, f.first_seen, f.station, f.device, 'firmware', f.version, 1, 0
        FROM fleet.firmware_seen f JOIN fleet.device d ON d.station = f.station AND d.device = f.device WHERE d.serial IS NOT NULL
        UNION ALL
        SELECT serial, at, station, device, 'fault ' || event, code || ' ' || name || coalesce(' (' || status || ')', ''), 2, seq
        FROM fleet.fault_event WHERE serial IS NOT NULL
        UNION ALL
        SELECT serial, started_at, station, device, 'self-test', test || ': ' || verdict, 3, seq
        FROM fleet.test_run WHERE serial IS NOT NULL;

    CREATE VIEW fleet.station_sync AS
        SELECT s.name AS station, m.stream, m.high_water, m.synced_at, now() - m.synced_at AS since_last_sync
        FROM fleet.station s LEFT JOIN fleet.sync_mark m ON m.station = s.name;

    GRANT SELECT ON fleet.station_keys, fleet.fault_counts, fleet.lock_timeline, fleet.station_sync TO fleet_analyst;
    """#

    /// The reports stations sign, byte for byte: `signed_json` is the canonical signed JSON (the report file without
    /// its final newline); `sha256` (hex, computed by the server) is what `lockdiag verify --fleet` compares.
    static let v2 = #"""
    CREATE TABLE fleet.signed_report (
        station text NOT NULL, seq bigint NOT NULL,
        report_id text NOT NULL, device text NOT NULL, serial text, model text,
        created_at timestamptz NOT NULL, key_fingerprint text NOT NULL, signed_json text NOT NULL,
        sha256 text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq));
    -- Set by the server on every write (not a generated column: convert_to is not immutable).
    CREATE FUNCTION fleet.signed_report_sha256() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
    BEGIN
        NEW.sha256 := encode(sha256(convert_to(NEW.signed_json, 'UTF8')), 'hex');
        RETURN NEW;
    END $f$;
    CREATE TRIGGER sha256 BEFORE INSERT OR UPDATE OF signed_json ON fleet.signed_report
        FOR EACH ROW EXECUTE FUNCTION fleet.signed_report_sha256();
    CREATE INDEX signed_report_by_id ON fleet.signed_report (report_id);
    CREATE INDEX signed_report_by_serial ON fleet.signed_report (serial, created_at);

    ALTER TABLE fleet.signed_report ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_rows ON fleet.signed_report TO fleet_station USING (station = current_user) WITH CHECK (station = current_user);
    CREATE POLICY read_all ON fleet.signed_report FOR SELECT TO fleet_analyst USING (true);
    GRANT INSERT, SELECT (station, seq) ON fleet.signed_report TO fleet_station;
    GRANT SELECT ON fleet.signed_report TO fleet_analyst;

    -- Whether the fleet holds a report with this id, and the same bytes: for `lockdiag verify --fleet`, by any role
    -- that may ask the key register (a station cannot read other stations' reports, only compare one it holds).
    CREATE FUNCTION fleet.report_match(p_report_id text, p_signed_json text)
    RETURNS TABLE (station text, received_at timestamptz, same boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
        SELECT r.station, r.received_at, r.sha256 = encode(sha256(convert_to(p_signed_json, 'UTF8')), 'hex')
        FROM fleet.signed_report r WHERE r.report_id = p_report_id ORDER BY r.received_at
    $f$;
    REVOKE ALL ON FUNCTION fleet.report_match(text, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION fleet.report_match(text, text) TO fleet_station, fleet_analyst, fleet_enroller;

    -- A station's history names a lock by its path until it answers IDENTIFY, then moves the path's fault events since
    -- the lock was attached to its id. The station sends each such move after the events; the trigger applies it to
    -- the events the database already had under the path, with the lock's serial, model and firmware.
    CREATE TABLE fleet.device_rename (
        station text NOT NULL, seq bigint NOT NULL,
        former text NOT NULL, device text NOT NULL, since timestamptz NOT NULL, until timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station, seq));
    ALTER TABLE fleet.device_rename ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_rows ON fleet.device_rename TO fleet_station USING (station = current_user) WITH CHECK (station = current_user);
    CREATE POLICY read_all ON fleet.device_rename FOR SELECT TO fleet_analyst USING (true);
    GRANT INSERT, SELECT (station, seq) ON fleet.device_rename TO fleet_station;
    GRANT SELECT ON fleet.device_rename TO fleet_analyst;
    -- SECURITY DEFINER: a station may not update events; this moves only its own (NEW.station is current_user, by the
    -- policy above).
    CREATE FUNCTION fleet.apply_device_rename() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $f$
    BEGIN
        UPDATE fleet.fault_event e SET device = NEW.device, serial = d.serial, model = d.model,
            firmware = (SELECT s.version FROM fleet.firmware_seen s WHERE s.station = NEW.station AND s.device = NEW.device
                        AND s.first_seen <= e.at ORDER BY s.first_seen DESC LIMIT 1)
        FROM (SELECT NULL) AS one LEFT JOIN fleet.device d ON d.station = NEW.station AND d.device = NEW.device
        WHERE e.station = NEW.station AND e.device = NEW.former AND e.at BETWEEN NEW.since AND NEW.until;
        RETURN NULL;
    END $f$;
    REVOKE ALL ON FUNCTION fleet.apply_device_rename() FROM PUBLIC;
    CREATE TRIGGER apply AFTER INSERT ON fleet.device_rename FOR EACH ROW EXECUTE FUNCTION fleet.apply_device_rename();

    -- A lock's life now shows the reports made on it (kind 'report', detail: the report id): v1's view, renamed, and
    -- the reports after it.
    ALTER VIEW fleet.lock_timeline RENAME TO lock_timeline_v1;
    CREATE VIEW fleet.lock_timeline AS
        SELECT * FROM fleet.lock_timeline_v1
        UNION ALL
        SELECT serial, created_at, station, device, 'report', report_id, 4, seq
        FROM fleet.signed_report WHERE serial IS NOT NULL;
    GRANT SELECT ON fleet.lock_timeline TO fleet_analyst;
    """#
}
