"""The PostgreSQL schema: its own migrations, in PostgreSQL's dialect.

The DuckDB store's migrations (metrics.store.migrations) are frozen DuckDB text; a PostgreSQL
store starts at the schema those nine reached, so its first migration creates that schema whole
(same tables, same columns in the same order, so that rows copy between the two backends
column for column) and records schema version 9. A later release appends a step to both lists;
PG_MIGRATIONS maps the schema version each step brings a database to.

Types: DOUBLE is DOUBLE PRECISION, TINYINT is SMALLINT, BLOB is BYTEA, VARCHAR[] stays an array.
The indexes serve the per-city-year score rebuild and the per-city reads (DuckDB needs none).
"""

from __future__ import annotations

from metrics.store.migrations import SCHEMA_VERSION

_V9: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS assessment_na(submission_id BIGINT NOT NULL, indicator_code VARCHAR NOT NULL, reason VARCHAR NOT NULL, source_row INTEGER)",
    'CREATE TABLE IF NOT EXISTS assessments(submission_id BIGINT NOT NULL, indicator_code VARCHAR NOT NULL, "level" SMALLINT NOT NULL, evidence VARCHAR, note VARCHAR, source_row INTEGER)',
    'CREATE TABLE IF NOT EXISTS audit(id BIGINT PRIMARY KEY, logged_at VARCHAR NOT NULL, username VARCHAR NOT NULL, "action" VARCHAR NOT NULL, "object" VARCHAR NOT NULL, "before" VARCHAR, "after" VARCHAR, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)',
    'CREATE TABLE IF NOT EXISTS cities(city_code VARCHAR PRIMARY KEY, "name" VARCHAR NOT NULL, province VARCHAR, category VARCHAR, population BIGINT, timezone VARCHAR)',
    'CREATE TABLE IF NOT EXISTS city_population(city_code VARCHAR, "year" INTEGER, population BIGINT NOT NULL, PRIMARY KEY(city_code, "year"))',
    'CREATE TABLE IF NOT EXISTS clarification_events(id BIGINT PRIMARY KEY, clarification_id BIGINT NOT NULL, kind VARCHAR NOT NULL, "text" VARCHAR, item_ids BIGINT[], submission_id BIGINT, username VARCHAR NOT NULL, happened_at TIMESTAMP NOT NULL)',
    'CREATE TABLE IF NOT EXISTS clarifications(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, opd_code VARCHAR, message VARCHAR NOT NULL, due DATE, status VARCHAR NOT NULL, asked_by VARCHAR NOT NULL, asked_at TIMESTAMP NOT NULL, closed_by VARCHAR, closed_at TIMESTAMP, outcome VARCHAR, verified_level INTEGER, close_note VARCHAR)',
    'CREATE TABLE IF NOT EXISTS deadlines(city_code VARCHAR, "year" INTEGER, self_due DATE, verify_due DATE, updated_at TIMESTAMP, updated_by VARCHAR, PRIMARY KEY(city_code, "year"))',
    'CREATE TABLE IF NOT EXISTS drafts(city_code VARCHAR, opd_code VARCHAR, "year" INTEGER, payload VARCHAR, updated_at TIMESTAMP, username VARCHAR, PRIMARY KEY(city_code, opd_code, "year"))',
    'CREATE TABLE IF NOT EXISTS effort_units(city_code VARCHAR, "year" INTEGER, unit VARCHAR NOT NULL, updated_by VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY(city_code, "year"))',
    'CREATE TABLE IF NOT EXISTS evidence_blobs(sha256 VARCHAR PRIMARY KEY, mime VARCHAR NOT NULL, size BIGINT NOT NULL, "content" BYTEA NOT NULL, stored_at TIMESTAMP NOT NULL)',
    'CREATE TABLE IF NOT EXISTS evidence_checks(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, "level" INTEGER NOT NULL, requirement INTEGER NOT NULL, met BOOLEAN NOT NULL, note VARCHAR, username VARCHAR NOT NULL, checked_at TIMESTAMP NOT NULL)',
    'CREATE TABLE IF NOT EXISTS evidence_items(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, kind VARCHAR NOT NULL, sha256 VARCHAR, url VARCHAR, original_name VARCHAR, mime VARCHAR, size BIGINT, flags VARCHAR, uploaded_by VARCHAR NOT NULL, uploaded_at TIMESTAMP NOT NULL)',
    'CREATE TABLE IF NOT EXISTS evidence_links(city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, item_id BIGINT NOT NULL, linked_by VARCHAR NOT NULL, linked_at TIMESTAMP NOT NULL, unlinked_by VARCHAR, unlinked_at TIMESTAMP)',
    'CREATE TABLE IF NOT EXISTS files(sha256 VARCHAR PRIMARY KEY, "name" VARCHAR, size BIGINT, "content" BYTEA)',
    'CREATE TABLE IF NOT EXISTS frameworks(seq INTEGER PRIMARY KEY, id VARCHAR NOT NULL, applies_from INTEGER NOT NULL, name_id VARCHAR, name_en VARCHAR, scale_min INTEGER, scale_max INTEGER, missing VARCHAR, "source" VARCHAR, loaded_at TIMESTAMP, loaded_by VARCHAR)',
    "CREATE TABLE IF NOT EXISTS fw_category_thresholds(fw_seq INTEGER, indicator_code VARCHAR, category VARCHAR, thresholds DOUBLE PRECISION[] NOT NULL, PRIMARY KEY(fw_seq, indicator_code, category))",
    "CREATE TABLE IF NOT EXISTS fw_dimensions(fw_seq INTEGER, code VARCHAR, name_id VARCHAR, name_en VARCHAR, weight DOUBLE PRECISION, ord INTEGER, kind VARCHAR, \"method\" VARCHAR DEFAULT('rubric'), min_respondents INTEGER DEFAULT(50), pillar_weight DOUBLE PRECISION DEFAULT(1.0))",
    "CREATE TABLE IF NOT EXISTS fw_indicators(fw_seq INTEGER, code VARCHAR, pillar VARCHAR, subpillar VARCHAR, dimension VARCHAR, weight DOUBLE PRECISION, opd_types VARCHAR[], name_id VARCHAR, name_en VARCHAR, metric_code VARCHAR, metric_unit VARCHAR, metric_aggregate VARCHAR, metric_direction VARCHAR, thresholds DOUBLE PRECISION[], ord INTEGER, per_population DOUBLE PRECISION, allow_na BOOLEAN DEFAULT(CAST('f' AS BOOLEAN)))",
    "CREATE TABLE IF NOT EXISTS fw_pillars(fw_seq INTEGER, code VARCHAR, parent VARCHAR, name_id VARCHAR, name_en VARCHAR, ord INTEGER)",
    'CREATE TABLE IF NOT EXISTS indicator_efforts(city_code VARCHAR, "year" INTEGER, indicator_code VARCHAR, to_level INTEGER, effort DOUBLE PRECISION NOT NULL, updated_by VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY(city_code, "year", indicator_code, to_level))',
    "CREATE TABLE IF NOT EXISTS interviews(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, starts_at TIMESTAMP NOT NULL, \"minutes\" INTEGER NOT NULL, place VARCHAR, video_link VARCHAR, opd_codes VARCHAR[] NOT NULL, indicator_codes VARCHAR[] NOT NULL, notes VARCHAR, cancelled BOOLEAN DEFAULT(CAST('f' AS BOOLEAN)) NOT NULL, created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, updated_by VARCHAR, updated_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS login_failures(failed_at TIMESTAMP NOT NULL, client VARCHAR NOT NULL, account VARCHAR NOT NULL)",
    'CREATE TABLE IF NOT EXISTS meta("key" VARCHAR PRIMARY KEY, "value" VARCHAR)',
    'CREATE TABLE IF NOT EXISTS metric_values(submission_id BIGINT NOT NULL, metric_code VARCHAR NOT NULL, period VARCHAR NOT NULL, "value" DOUBLE PRECISION NOT NULL, source_row INTEGER)',
    'CREATE TABLE IF NOT EXISTS na_decisions(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, decision VARCHAR NOT NULL, note VARCHAR, username VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL)',
    "CREATE TABLE IF NOT EXISTS opd_assignments(city_code VARCHAR, indicator_code VARCHAR, opd_code VARCHAR, assigned_at TIMESTAMP NOT NULL, assigned_by VARCHAR, PRIMARY KEY(city_code, indicator_code, opd_code))",
    'CREATE TABLE IF NOT EXISTS opds(city_code VARCHAR, opd_code VARCHAR, opd_type VARCHAR NOT NULL, "name" VARCHAR NOT NULL, head_name VARCHAR, email VARCHAR, PRIMARY KEY(city_code, opd_code))',
    'CREATE TABLE IF NOT EXISTS periods(city_code VARCHAR, "year" INTEGER, status VARCHAR NOT NULL, updated_at TIMESTAMP, updated_by VARCHAR, PRIMARY KEY(city_code, "year"))',
    'CREATE TABLE IF NOT EXISTS programme_budgets(version_id BIGINT, programme_code VARCHAR, "year" INTEGER, "source" VARCHAR, amount BIGINT NOT NULL, PRIMARY KEY(version_id, programme_code, "year", "source"))',
    "CREATE TABLE IF NOT EXISTS programme_statuses(version_id BIGINT, programme_code VARCHAR, \"year\" INTEGER, status VARCHAR NOT NULL, reason VARCHAR, reason_accepted BOOLEAN DEFAULT(CAST('f' AS BOOLEAN)) NOT NULL, evidence VARCHAR, updated_at TIMESTAMP, updated_by VARCHAR, reason_decided BOOLEAN DEFAULT(CAST('f' AS BOOLEAN)) NOT NULL, PRIMARY KEY(version_id, programme_code, \"year\"))",
    "CREATE TABLE IF NOT EXISTS programme_versions(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL, change VARCHAR NOT NULL, file_name VARCHAR, sha256 VARCHAR, note VARCHAR)",
    'CREATE TABLE IF NOT EXISTS programmes(version_id BIGINT, code VARCHAR, "name" VARCHAR NOT NULL, pillar VARCHAR NOT NULL, kind VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, start_year INTEGER NOT NULL, end_year INTEGER NOT NULL, indicator_codes VARCHAR[] NOT NULL, source_row INTEGER, PRIMARY KEY(version_id, code))',
    'CREATE TABLE IF NOT EXISTS reminders(city_code VARCHAR, opd_code VARCHAR, "year" INTEGER, stage VARCHAR, recipient VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL, PRIMARY KEY(city_code, opd_code, "year", stage))',
    'CREATE TABLE IF NOT EXISTS score_city(city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, fw_seq INTEGER NOT NULL, "index" DOUBLE PRECISION, dim_codes VARCHAR[], dim_values DOUBLE PRECISION[], pillar_codes VARCHAR[], pillar_values DOUBLE PRECISION[], sub_codes VARCHAR[], sub_values DOUBLE PRECISION[], indicators BIGINT, missing BIGINT, pairs BIGINT, answered BIGINT)',
    'CREATE TABLE IF NOT EXISTS score_cy(city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, fw_seq INTEGER NOT NULL, pairs BIGINT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS score_facts(city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, fw_seq INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, self_sum DOUBLE PRECISION, self_n INTEGER NOT NULL, answered INTEGER NOT NULL, metric_value DOUBLE PRECISION, metric_level INTEGER, unverified_level DOUBLE PRECISION, unverified_source VARCHAR NOT NULL, na_claims INTEGER NOT NULL, metric_basis DOUBLE PRECISION, population BIGINT)',
    'CREATE TABLE IF NOT EXISTS score_parts(city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, fw_seq INTEGER NOT NULL, kind VARCHAR NOT NULL, code VARCHAR NOT NULL, weighted_levels DOUBLE PRECISION NOT NULL, weights DOUBLE PRECISION NOT NULL, indicators BIGINT NOT NULL, missing BIGINT NOT NULL, answered BIGINT NOT NULL)',
    "CREATE TABLE IF NOT EXISTS sessions(sid VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, token_hash VARCHAR, ticket_hash VARCHAR, ticket_expires_at TIMESTAMP, created_at TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL, client VARCHAR)",
    'CREATE TABLE IF NOT EXISTS submissions(id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, city_code VARCHAR NOT NULL, opd_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, metric_code VARCHAR, fw_seq INTEGER, file_name VARCHAR, sha256 VARCHAR, username VARCHAR, accepted_at TIMESTAMP, "source" VARCHAR, n_rows INTEGER)',
    'CREATE TABLE IF NOT EXISTS survey_mappings(city_code VARCHAR PRIMARY KEY, "mapping" VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL, updated_by VARCHAR NOT NULL)',
    "CREATE TABLE IF NOT EXISTS survey_programmes(upload_id BIGINT, programme_code VARCHAR, respondents INTEGER NOT NULL, answers INTEGER NOT NULL, answer_sum DOUBLE PRECISION NOT NULL, owner_opd VARCHAR, PRIMARY KEY(upload_id, programme_code))",
    "CREATE TABLE IF NOT EXISTS survey_questions(upload_id BIGINT, programme_code VARCHAR, question VARCHAR, answers INTEGER NOT NULL, answer_sum DOUBLE PRECISION NOT NULL, PRIMARY KEY(upload_id, programme_code, question))",
    'CREATE TABLE IF NOT EXISTS survey_uploads(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, file_name VARCHAR, sha256 VARCHAR, username VARCHAR NOT NULL, accepted_at TIMESTAMP NOT NULL, "source" VARCHAR, n_rows INTEGER NOT NULL, "mapping" VARCHAR)',
    "CREATE TABLE IF NOT EXISTS unlock_codes(account VARCHAR PRIMARY KEY, code_hash VARCHAR NOT NULL, expires_at TIMESTAMP NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR)",
    "CREATE TABLE IF NOT EXISTS users(username VARCHAR PRIMARY KEY, pw_hash VARCHAR NOT NULL, \"role\" VARCHAR NOT NULL, city_code VARCHAR, opd_code VARCHAR, active BOOLEAN DEFAULT(CAST('t' AS BOOLEAN)) NOT NULL, display_name VARCHAR, failed_count INTEGER DEFAULT(0) NOT NULL, locked_until TIMESTAMP, created_at TIMESTAMP, sessions_valid_after TIMESTAMP)",
    'CREATE TABLE IF NOT EXISTS verifications(id BIGINT PRIMARY KEY, city_code VARCHAR NOT NULL, "year" INTEGER NOT NULL, indicator_code VARCHAR NOT NULL, "level" SMALLINT NOT NULL, note VARCHAR, username VARCHAR, verified_at TIMESTAMP)',
    "CREATE SEQUENCE IF NOT EXISTS clarification_event_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS clarification_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS evidence_check_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS evidence_item_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS interview_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS na_decision_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS programme_version_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS submission_id_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS survey_upload_seq START 1",
    "CREATE SEQUENCE IF NOT EXISTS verification_id_seq START 1",
    "CREATE INDEX IF NOT EXISTS submissions_cy ON submissions(city_code, year, kind, opd_code)",
    "CREATE INDEX IF NOT EXISTS assessments_sub ON assessments(submission_id)",
    "CREATE INDEX IF NOT EXISTS metric_values_sub ON metric_values(submission_id)",
    "CREATE INDEX IF NOT EXISTS assessment_na_sub ON assessment_na(submission_id)",
    "CREATE INDEX IF NOT EXISTS verifications_cy ON verifications(city_code, year)",
    "CREATE INDEX IF NOT EXISTS na_decisions_cy ON na_decisions(city_code, year)",
    "CREATE INDEX IF NOT EXISTS score_cy_cy ON score_cy(city_code, year)",
    "CREATE INDEX IF NOT EXISTS score_facts_cy ON score_facts(city_code, year)",
    "CREATE INDEX IF NOT EXISTS score_parts_cy ON score_parts(city_code, year)",
    "CREATE INDEX IF NOT EXISTS score_city_cy ON score_city(city_code, year)",
    "CREATE INDEX IF NOT EXISTS score_city_year ON score_city(year)",
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(username)",
    "CREATE INDEX IF NOT EXISTS evidence_links_cy ON evidence_links(city_code, year)",
    # a link in force is unique (metrics.store.pg.evidence: two processes linking at once make one)
    "CREATE UNIQUE INDEX IF NOT EXISTS evidence_links_live ON evidence_links(city_code, opd_code, year, indicator_code, item_id) WHERE unlinked_at IS NULL",
    "CREATE INDEX IF NOT EXISTS evidence_items_cy ON evidence_items(city_code, year)",
    "CREATE INDEX IF NOT EXISTS clarifications_cy ON clarifications(city_code, year)",
    "CREATE INDEX IF NOT EXISTS login_failures_at ON login_failures(failed_at)",
    # a city's register and survey in force (the newest id), and its interview sessions
    "CREATE INDEX IF NOT EXISTS programme_versions_city ON programme_versions(city_code, id)",
    "CREATE INDEX IF NOT EXISTS survey_uploads_cy ON survey_uploads(city_code, year, id)",
    "CREATE INDEX IF NOT EXISTS interviews_city ON interviews(city_code, starts_at)",
    # an indicator of a framework by its code: the score rebuild of a city-year looks up each of its
    # rows (a plan made once for any city-years otherwise scans the framework once per row)
    "CREATE INDEX IF NOT EXISTS fw_indicators_code ON fw_indicators(fw_seq, code)",
)

# schema version -> the statements that bring a database to it from the one before (or, for the
# first, from nothing)
PG_MIGRATIONS: dict[int, tuple[str, ...]] = {9: _V9}

assert max(PG_MIGRATIONS) == SCHEMA_VERSION, "a DuckDB migration was added without its PostgreSQL step"
