/*
 * schema_sqlite.c — the store's schema on SQLite, as the migrations that
 * built it: entry i moves a store from version i to i+1 (PRAGMA
 * user_version). Append only; a new entry here needs its PostgreSQL
 * counterpart in schema_pg.c at the same index.
 */
#include "stn_internal.h"

const char *const stn_schema_sqlite[STN_SCHEMA_VERSION] = {
    /* 1: accounts, events, alarms, refused signals */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  number TEXT NOT NULL UNIQUE,"
    "  name TEXT, address TEXT, time_zone TEXT, phone TEXT, agency TEXT, permit TEXT,"
    "  key BLOB,"                         /* AES key bytes (16/24/32) or NULL */
    "  quirks INTEGER NOT NULL DEFAULT 0,"   /* enum dc09_quirk flags */
    "  supervision_s INTEGER NOT NULL DEFAULT 0,"
    "  passcode_hash TEXT, duress_passcode_hash TEXT," /* argon2id (crypto_pwhash_str) */
    "  created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER);"
    "CREATE TABLE account_users ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  user_number INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, user_number));"
    "CREATE TABLE account_zones ("
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  zone_number INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, zone_number));"
    "CREATE TABLE account_contacts ("
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL, name TEXT NOT NULL, phone TEXT NOT NULL,"
    "  relation TEXT, lives_at_premises INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX account_contacts_account ON account_contacts(account_id, position);"
    "CREATE TABLE events ("              /* append-only: no index but the rowid */
    "  id INTEGER PRIMARY KEY,"
    "  account_id INTEGER NOT NULL, account TEXT NOT NULL,"
    "  received_at_ms INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  id_token TEXT NOT NULL, encrypted INTEGER NOT NULL,"
    "  frame_time_s INTEGER,"
    "  cid_q INTEGER, cid_event INTEGER, cid_partition INTEGER, cid_zone INTEGER,"
    "  sia_code TEXT, sia_area INTEGER, sia_user INTEGER, sia_zone INTEGER, sia_text TEXT,"
    "  kind TEXT, priority INTEGER,"
    "  data TEXT, raw BLOB NOT NULL, peer TEXT);"
    "CREATE TABLE alarms ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, account_id INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'new'"
    "    CHECK (state IN ('new','escalated','taken','dispatched','closed')),"
    "  event_id INTEGER, received_at_ms INTEGER NOT NULL,"
    "  last_event_at_ms INTEGER NOT NULL, event_count INTEGER NOT NULL DEFAULT 1,"
    "  cid_q INTEGER, cid_event INTEGER, cid_partition INTEGER, cid_zone INTEGER,"
    "  sia_code TEXT, sia_area INTEGER, sia_user INTEGER, sia_zone INTEGER, sia_text TEXT,"
    "  partition INTEGER, zone INTEGER, user INTEGER, detail TEXT,"
    "  taken_by TEXT, taken_at_ms INTEGER, dispatched_at_ms INTEGER,"
    "  closed_at_ms INTEGER, disposition TEXT CHECK (disposition IS NULL OR disposition IN"
    "   ('real_emergency','false_user_error','false_equipment','cancelled_before_dispatch',"
    "    'cancelled_after_dispatch','test')),"
    "  escalated_at_ms INTEGER, restored_at_ms INTEGER);"
    "CREATE INDEX alarms_open ON alarms(account, kind) WHERE state != 'closed';"
    "CREATE INDEX alarms_queue ON alarms(state, priority, received_at_ms);"
    "CREATE TABLE alarm_events ("
    "  alarm_id INTEGER NOT NULL, event_id INTEGER NOT NULL,"
    "  PRIMARY KEY (alarm_id, event_id)) WITHOUT ROWID;"
    "CREATE TABLE signals_rejected ("     /* answered DUH: unknown account, wrong key... */
    "  id INTEGER PRIMARY KEY,"
    "  received_at_ms INTEGER NOT NULL, account TEXT NOT NULL, reason TEXT NOT NULL,"
    "  id_token TEXT, seq INTEGER, peer TEXT, raw BLOB NOT NULL, alarm_id INTEGER);",
    /* 2: per-account time window (DC09.md: configurable per account); NULL = the config's */
    "ALTER TABLE accounts ADD COLUMN window_past_s INTEGER;"
    "ALTER TABLE accounts ADD COLUMN window_future_s INTEGER;",
    /* 3: the operators' side (vigil-console, docs/console.md): operators, plan
     * steps, the alarm's history, the police dispatch record, and a change log
     * fed by triggers (the console's live stream reads it; SSE ids are its seq) */
    "CREATE TABLE operators ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('operator','supervisor','admin')),"
    "  password_hash TEXT NOT NULL,"           /* argon2id (crypto_pwhash_str) */
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);"
    "ALTER TABLE accounts ADD COLUMN police_status TEXT NOT NULL DEFAULT 'normal'"
    "  CHECK (police_status IN ('normal','cautioned','suspended'));"
    "ALTER TABLE accounts ADD COLUMN location TEXT NOT NULL DEFAULT 'residential'"
    "  CHECK (location IN ('residential','commercial'));"
    /* the panel user a contact is: a duress by that user leaves them off the call list */
    "ALTER TABLE account_contacts ADD COLUMN user_number INTEGER;"
    "ALTER TABLE alarms ADD COLUMN changed_at_ms INTEGER;"
    "CREATE TABLE alarm_steps ("
    "  alarm_id INTEGER NOT NULL, step TEXT NOT NULL,"
    "  done_by TEXT NOT NULL, done_at_ms INTEGER NOT NULL, note TEXT,"
    "  PRIMARY KEY (alarm_id, step)) WITHOUT ROWID;"
    "CREATE TABLE alarm_history ("           /* append-only: who did what, when */
    "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    "  operator TEXT, action TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX alarm_history_alarm ON alarm_history(alarm_id, id);"
    "CREATE TABLE dispatches ("
    "  alarm_id INTEGER PRIMARY KEY,"
    "  category TEXT NOT NULL, audible TEXT NOT NULL, location_category TEXT NOT NULL,"
    "  details TEXT NOT NULL, agency TEXT, permit TEXT, address TEXT,"
    "  callback_phone TEXT, provider_name TEXT, operator TEXT NOT NULL,"
    "  call_to_premises INTEGER NOT NULL, confirmation_method TEXT NOT NULL,"
    "  call_to_premises_result TEXT NOT NULL,"
    "  requested_at_ms INTEGER NOT NULL,"
    "  psap_status TEXT NOT NULL DEFAULT 'requested' CHECK (psap_status IN"
    "   ('requested','accepted','rejected','dispatched','arrived','closed')),"
    "  psap_event_number TEXT, reject_reason TEXT, psap_disposition TEXT,"
    "  accepted_at_ms INTEGER, rejected_at_ms INTEGER, dispatched_at_ms INTEGER,"
    "  arrived_at_ms INTEGER, psap_closed_at_ms INTEGER,"
    "  cancel_requested_at_ms INTEGER, cancel_confirmed_by TEXT);"
    "CREATE TABLE alarm_changes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX alarm_changes_alarm ON alarm_changes(alarm_id, seq);"
    "CREATE TRIGGER alarms_changed_ins AFTER INSERT ON alarms BEGIN"
    "  INSERT INTO alarm_changes (alarm_id, at_ms) VALUES (new.id,"
    "   CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;"
    "CREATE TRIGGER alarms_changed_upd AFTER UPDATE ON alarms BEGIN"
    "  INSERT INTO alarm_changes (alarm_id, at_ms) VALUES (new.id,"
    "   CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;",
    /* 4: police agencies' false-alarm rules (vigil/agency.h; the file as
     * imported, checked, by `vigil agency import`), the permit's expiry, and
     * the invoice lines of false dispatches (one per alarm: the police's
     * finding, the agency's rule applied, amounts in integer cents). An
     * account names its agency by id (accounts.agency). */
    "CREATE TABLE agencies ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, rules TEXT NOT NULL,"
    "  imported_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL);"
    "ALTER TABLE accounts ADD COLUMN permit_expires_ms INTEGER;"
    "CREATE TABLE charges ("
    "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL UNIQUE,"
    "  account TEXT NOT NULL, account_id INTEGER NOT NULL, agency TEXT NOT NULL,"
    "  kind TEXT NOT NULL, location TEXT NOT NULL,"
    "  finding TEXT NOT NULL CHECK (finding IN ('false','cancelled')),"
    "  at_ms INTEGER NOT NULL, operator TEXT, psap_event_number TEXT,"
    "  counted INTEGER NOT NULL, count_in_window INTEGER NOT NULL, forgiven INTEGER NOT NULL,"
    "  billed TEXT NOT NULL CHECK (billed IN ('station','user')), currency TEXT NOT NULL,"
    "  agency_fee_cents INTEGER NOT NULL CHECK (agency_fee_cents >= 0),"
    "  admin_fee_cents INTEGER NOT NULL CHECK (admin_fee_cents >= 0),"
    "  total_cents INTEGER NOT NULL CHECK (total_cents >= 0), rule TEXT NOT NULL);"
    "CREATE INDEX charges_account ON charges(account, at_ms);"
    "CREATE INDEX charges_at ON charges(at_ms);",
    /* 5: the audit trail (docs/audit.md): append-only, each entry chained to
     * the previous by its hash; the triggers refuse UPDATE and DELETE (defence
     * in depth: the chain and the head file beside the store are the proof) */
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"             /* 1, 2, 3...: no gaps */
    "  at_ms INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,"
    "  subject TEXT, before TEXT, after TEXT,"   /* before/after: JSON text */
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_subject ON audit(subject, seq) WHERE subject IS NOT NULL;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    /* 6: assisted duress set-up (docs/console.md "Set-up sessions", docs/station.md
     * "Test mode"): an account's test mode has its end time here, so the
     * station (also after a restart) ends it by itself; an alarm raised while
     * its account was on test is marked test; set-up and drill sessions */
    "ALTER TABLE accounts ADD COLUMN test_until_ms INTEGER;"
    /* the once-a-second check for test modes that ended reads only these */
    "CREATE INDEX accounts_on_test ON accounts(test_until_ms) WHERE test_until_ms IS NOT NULL;"
    "ALTER TABLE alarms ADD COLUMN test INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE setup_sessions ("
    "  id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('setup','drill')),"
    "  operator TEXT NOT NULL, opened_at_ms INTEGER NOT NULL, ends_at_ms INTEGER NOT NULL,"
    "  closed_at_ms INTEGER, closed_by TEXT, close_reason TEXT);"
    "CREATE INDEX setup_sessions_open ON setup_sessions(ends_at_ms) WHERE closed_at_ms IS NULL;"
    "CREATE INDEX setup_sessions_account ON setup_sessions(account, id);"
    /* the console's account page: one account's alarms, without a scan of all */
    "CREATE INDEX alarms_account ON alarms(account_id, id);",
};
