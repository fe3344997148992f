"""The rollups' facts and triggers in PostgreSQL (see ``rollups`` for what they count).

The definitions mirror ``rollups.ticket_facts`` and its siblings one for one; ``rollups.check``
recounts with the Python ones, so a difference between the two shows up as a failing
check, not as a wrong figure nobody notices.

Functions are (re)created with ``CREATE OR REPLACE`` by ``install_functions`` (the
migration, and ``rebuild`` each time, so a changed ``TIME_ZONE`` is picked up by
``manage.py rebuild_rollups``); triggers are created once by the migration. A trigger
computes the facts of the rows before and after the change and applies the difference to
the rollup rows of every grid above the rows' grids down to ``ROLLUP_DEPTH``, found
through the parent pointers (at most three lookups by primary key). Tickets, events and
whistles change one at a time: row triggers, whose ``WHEN`` skips changes no fact depends
on (a title, a notification mark). Households, residents and their key groups arrive by
the thousand (imports): statement triggers over the statement's transition tables, one
insert per statement. Triggers never update a rollup row: they append the difference to
``dashboard_rollupdelta`` (an insert locks nothing another transaction waits for), and
``compact`` folds those rows into ``dashboard_rollup`` in one statement, one compaction at
a time (see ``models.RollupDelta`` for why).

A migration that renames or drops a column these functions read must install them again
(``install_functions``) in the same migration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import OperationalError, transaction

from governance.dashboard.rollups import (
    NEVER,
    NO_DAY,
    ROLLUP_DEPTH,
    SPLIT,
)
from tickets import states


def _literals() -> dict[str, str]:
    opens = ", ".join(f"'{s}'" for s in sorted(states.OPEN))
    split = ", ".join(f"'{m}'" for m in sorted(SPLIT))
    return {
        "tz": settings.TIME_ZONE.replace("'", "''"),
        "no_day": f"DATE '{NO_DAY.isoformat()}'",
        "never": f"DATE '{NEVER.isoformat()}'",
        "open": opens,
        "split": split,
        "depth": str(ROLLUP_DEPTH),
    }


TYPE = """
CREATE TYPE dashboard_fact AS (
    metric varchar(12), day date, day2 date, key varchar(40), n bigint, total bigint
);
CREATE TYPE dashboard_grid_fact AS (
    grid_id bigint, metric varchar(12), day date, day2 date, key varchar(40), n bigint,
    total bigint
);
"""

FUNCTIONS = """
CREATE OR REPLACE FUNCTION dashboard_local_date(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (ts AT TIME ZONE '{tz}')::date $$;

CREATE OR REPLACE FUNCTION dashboard_ancestors(p_grid bigint)
RETURNS TABLE (ancestor bigint, child bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (id, parent_id, depth, below) AS (
        SELECT g.id, g.parent_id, g.depth, 0::bigint FROM grids_grid g WHERE g.id = p_grid
        UNION ALL
        SELECT p.id, p.parent_id, p.depth, up.id FROM grids_grid p JOIN up ON p.id = up.parent_id
    )
    SELECT id, below FROM up WHERE depth <= {depth}
$$;

CREATE OR REPLACE FUNCTION dashboard_ticket_facts(t tickets_ticket)
RETURNS SETOF dashboard_fact LANGUAGE sql STABLE AS $$
    SELECT v.metric, v.day, v.day2, v.key, 1::bigint, 0::bigint FROM (VALUES
        ('opened'::varchar, dashboard_local_date(t.created_at), {no_day}, ''::varchar),
        ('status', dashboard_local_date(t.created_at), {no_day}, t.status),
        ('category', dashboard_local_date(t.created_at), {no_day}, t.category_id::text),
        ('channel', dashboard_local_date(t.created_at), {no_day}, t.channel),
        ('due', dashboard_local_date(t.resolve_by),
            CASE WHEN t.resolved_at IS NULL THEN {never}
                 ELSE GREATEST(dashboard_local_date(t.resolved_at),
                               dashboard_local_date(t.resolve_by))
            END,
            CASE WHEN t.resolved_at <= t.resolve_by THEN '1' ELSE '0' END),
        ('respond', dashboard_local_date(t.respond_by), {no_day},
            CASE WHEN t.responded_at <= t.respond_by THEN '1' ELSE '0' END),
        (CASE WHEN t.closed_at IS NOT NULL THEN 'closed' END,
            dashboard_local_date(t.closed_at), {no_day}, ''),
        (CASE WHEN t.responded_at IS NOT NULL THEN 'answered' END,
            dashboard_local_date(t.responded_at), {no_day}, ''),
        (CASE WHEN t.resolved_at IS NOT NULL THEN 'resolved' END,
            dashboard_local_date(t.resolved_at), {no_day}, ''),
        (CASE WHEN t.status IN ({open}) THEN 'open' END, {no_day}, {no_day}, ''),
        (CASE WHEN t.status IN ({open}) THEN 'overdue' END,
            dashboard_local_date(
                LEAST(CASE WHEN t.responded_at IS NULL THEN t.respond_by END, t.resolve_by)
            ), {no_day}, '')
    ) AS v (metric, day, day2, key)
    WHERE v.metric IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION dashboard_event_facts(e tickets_ticketevent)
RETURNS SETOF dashboard_fact LANGUAGE sql STABLE AS $$
    SELECT v.metric, dashboard_local_date(e.created_at), {no_day}, v.key, 1::bigint, 0::bigint
    FROM (VALUES
        (CASE WHEN e.kind = 'rated' THEN 'rated' END::varchar,
            CASE WHEN jsonb_typeof(e.data -> 'rating') = 'string'
                 THEN left(e.data ->> 'rating', 40) ELSE '' END::varchar),
        (CASE WHEN e.to_status = 'reopened' THEN 'reopened' END, '')
    ) AS v (metric, key)
    WHERE v.metric IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION dashboard_whistle_facts(w tickets_whistle)
RETURNS SETOF dashboard_fact LANGUAGE sql STABLE AS $$
    SELECT v.metric, dashboard_local_date(w.created_at), {no_day}, w.department_id::text,
        1::bigint, v.total
    FROM (VALUES
        ('whistled'::varchar, 0::bigint),
        (CASE WHEN w.reported_at IS NOT NULL THEN 'reported' END,
            (EXTRACT(EPOCH FROM (w.reported_at - w.created_at)) * 1000000)::bigint)
    ) AS v (metric, total)
    WHERE v.metric IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION dashboard_household_facts(h residents_household)
RETURNS SETOF dashboard_fact LANGUAGE sql STABLE AS $$
    SELECT 'household', COALESCE(h.visit_due_on, {never}), {no_day}, '', 1::bigint, 0::bigint
$$;

CREATE OR REPLACE FUNCTION dashboard_resident_facts(r residents_resident)
RETURNS SETOF dashboard_fact LANGUAGE sql STABLE AS $$
    SELECT 'resident', {no_day}, {no_day}, '', 1::bigint, 0::bigint
        WHERE r.living_status = 'resident'
    UNION ALL SELECT 'tag', {no_day}, {no_day}, x.keygrouptag_id::text, 1, 0
        FROM residents_resident_tags x
        WHERE x.resident_id = r.id AND r.living_status = 'resident'
$$;

CREATE OR REPLACE FUNCTION dashboard_ticket_children_facts(p_ticket bigint)
RETURNS dashboard_fact[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT f FROM tickets_ticketevent e, LATERAL dashboard_event_facts(e) f
            WHERE e.ticket_id = p_ticket AND (e.kind = 'rated' OR e.to_status = 'reopened')
        UNION ALL
        SELECT f FROM tickets_whistle w, LATERAL dashboard_whistle_facts(w) f
            WHERE w.ticket_id = p_ticket
    )
$$;

-- add p_sign × the facts to every rollup grid above p_grid (itself included)
CREATE OR REPLACE FUNCTION dashboard_apply(p_grid bigint, p_sign integer, p_facts dashboard_fact[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_grid IS NULL OR cardinality(p_facts) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO dashboard_rollupdelta (grid_id, child, metric, day, day2, key, n, total)
    SELECT up.ancestor,
           CASE WHEN f.metric IN ({split}) THEN up.child ELSE 0 END,
           f.metric, f.day, f.day2, f.key, SUM(p_sign * f.n), SUM(p_sign * f.total)
    FROM dashboard_ancestors(p_grid) up CROSS JOIN unnest(p_facts) f
    GROUP BY 1, 2, 3, 4, 5, 6;
END
$$;

-- the difference between two states of a row on the same grid
CREATE OR REPLACE FUNCTION dashboard_apply_delta(
    p_grid bigint, p_old dashboard_fact[], p_new dashboard_fact[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    delta dashboard_fact[];
BEGIN
    SELECT ARRAY(
        SELECT ROW(metric, day, day2, key, SUM(n)::bigint, SUM(total)::bigint)::dashboard_fact
        FROM (
            SELECT o.metric, o.day, o.day2, o.key, -o.n AS n, -o.total AS total
                FROM unnest(p_old) o
            UNION ALL
            SELECT w.metric, w.day, w.day2, w.key, w.n, w.total FROM unnest(p_new) w
        ) both_states
        GROUP BY metric, day, day2, key
        HAVING SUM(n) <> 0 OR SUM(total) <> 0
    ) INTO delta;
    PERFORM dashboard_apply(p_grid, 1, delta);
END
$$;

CREATE OR REPLACE FUNCTION dashboard_ticket_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_apply(NEW.grid_id, 1, ARRAY(SELECT dashboard_ticket_facts(NEW)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM dashboard_apply(OLD.grid_id, -1,
            ARRAY(SELECT dashboard_ticket_facts(OLD)) || dashboard_ticket_children_facts(OLD.id));
    ELSIF OLD.grid_id IS DISTINCT FROM NEW.grid_id THEN
        -- re-routed: its events and whistles go with it
        PERFORM dashboard_apply(OLD.grid_id, -1,
            ARRAY(SELECT dashboard_ticket_facts(OLD)) || dashboard_ticket_children_facts(OLD.id));
        PERFORM dashboard_apply(NEW.grid_id, 1,
            ARRAY(SELECT dashboard_ticket_facts(NEW)) || dashboard_ticket_children_facts(NEW.id));
    ELSE
        PERFORM dashboard_apply_delta(NEW.grid_id,
            ARRAY(SELECT dashboard_ticket_facts(OLD)), ARRAY(SELECT dashboard_ticket_facts(NEW)));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_ticket_grid(p_ticket bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT grid_id FROM tickets_ticket WHERE id = p_ticket $$;

CREATE OR REPLACE FUNCTION dashboard_event_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- a ticket deleted before its events has already taken their facts away
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM dashboard_apply(dashboard_ticket_grid(OLD.ticket_id), -1,
            ARRAY(SELECT dashboard_event_facts(OLD)));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM dashboard_apply(dashboard_ticket_grid(NEW.ticket_id), 1,
            ARRAY(SELECT dashboard_event_facts(NEW)));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_whistle_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM dashboard_apply(dashboard_ticket_grid(OLD.ticket_id), -1,
            ARRAY(SELECT dashboard_whistle_facts(OLD)));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM dashboard_apply(dashboard_ticket_grid(NEW.ticket_id), 1,
            ARRAY(SELECT dashboard_whistle_facts(NEW)));
    END IF;
    RETURN NULL;
END
$$;

-- Households, residents and their key groups arrive by the thousand (imports, demo data):
-- their triggers run once per statement over its transition tables, and apply the facts
-- of all the statement's rows in one upsert.

-- add the facts (each on its own grid, signed) to every rollup grid above their grids
CREATE OR REPLACE FUNCTION dashboard_apply_grid_facts(p_facts dashboard_grid_fact[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_facts) = 0 THEN
        RETURN;
    END IF;
    WITH facts AS (SELECT * FROM unnest(p_facts)),
         grids AS (SELECT DISTINCT grid_id FROM facts WHERE grid_id IS NOT NULL),
         up AS (SELECT g.grid_id, a.ancestor, a.child
                FROM grids g, LATERAL dashboard_ancestors(g.grid_id) a)
    INSERT INTO dashboard_rollupdelta (grid_id, child, metric, day, day2, key, n, total)
    SELECT up.ancestor,
           CASE WHEN f.metric IN ({split}) THEN up.child ELSE 0 END,
           f.metric, f.day, f.day2, f.key, SUM(f.n), SUM(f.total)
    FROM facts f JOIN up ON up.grid_id = f.grid_id
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING SUM(f.n) <> 0 OR SUM(f.total) <> 0;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_households_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(h.grid_id, f.metric, f.day, f.day2, f.key, f.n, f.total)::dashboard_grid_fact
        FROM new_rows h, LATERAL dashboard_household_facts(h) f));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_households_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- with the residents still there (deleted after it, in the same transaction)
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(h.grid_id, f.metric, f.day, f.day2, f.key, -f.n, -f.total)::dashboard_grid_fact
        FROM old_rows h, LATERAL dashboard_household_facts(h) f
        UNION ALL
        SELECT ROW(h.grid_id, f.metric, f.day, f.day2, f.key, -f.n, -f.total)::dashboard_grid_fact
        FROM old_rows h JOIN residents_resident r ON r.household_id = h.id,
             LATERAL dashboard_resident_facts(r) f));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_households_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(o.grid_id, f.metric, f.day, f.day2, f.key, -f.n, -f.total)
               ::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL dashboard_household_facts(o) f
        WHERE o.grid_id IS DISTINCT FROM n.grid_id OR o.visit_due_on IS DISTINCT FROM n.visit_due_on
        UNION ALL
        SELECT ROW(n.grid_id, f.metric, f.day, f.day2, f.key, f.n, f.total)::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL dashboard_household_facts(n) f
        WHERE o.grid_id IS DISTINCT FROM n.grid_id OR o.visit_due_on IS DISTINCT FROM n.visit_due_on
        UNION ALL  -- a household moved takes its residents along
        SELECT ROW(o.grid_id, f.metric, f.day, f.day2, f.key, -f.n, -f.total)
               ::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id
             JOIN residents_resident r ON r.household_id = n.id,
             LATERAL dashboard_resident_facts(r) f
        WHERE o.grid_id IS DISTINCT FROM n.grid_id
        UNION ALL
        SELECT ROW(n.grid_id, f.metric, f.day, f.day2, f.key, f.n, f.total)::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id
             JOIN residents_resident r ON r.household_id = n.id,
             LATERAL dashboard_resident_facts(r) f
        WHERE o.grid_id IS DISTINCT FROM n.grid_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_household_grid(p_household bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT grid_id FROM residents_household WHERE id = p_household $$;

CREATE OR REPLACE FUNCTION dashboard_residents_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(h.grid_id, f.metric, f.day, f.day2, f.key, f.n, f.total)::dashboard_grid_fact
        FROM new_rows r JOIN residents_household h ON h.id = r.household_id,
             LATERAL dashboard_resident_facts(r) f));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_residents_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- a household deleted first has taken its residents' facts already
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(h.grid_id, f.metric, f.day, f.day2, f.key, -f.n, -f.total)::dashboard_grid_fact
        FROM old_rows r JOIN residents_household h ON h.id = r.household_id,
             LATERAL dashboard_resident_facts(r) f));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_residents_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dashboard_apply_grid_facts(ARRAY(
        SELECT ROW(dashboard_household_grid(o.household_id),
                   f.metric, f.day, f.day2, f.key, -f.n, -f.total)::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL dashboard_resident_facts(o) f
        WHERE o.household_id IS DISTINCT FROM n.household_id
           OR o.living_status IS DISTINCT FROM n.living_status
        UNION ALL
        SELECT ROW(dashboard_household_grid(n.household_id),
                   f.metric, f.day, f.day2, f.key, f.n, f.total)::dashboard_grid_fact
        FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL dashboard_resident_facts(n) f
        WHERE o.household_id IS DISTINCT FROM n.household_id
           OR o.living_status IS DISTINCT FROM n.living_status));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION dashboard_resident_tags_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- only living residents count; a resident deleted first has taken its tags already
    IF TG_OP = 'INSERT' THEN
        PERFORM dashboard_apply_grid_facts(ARRAY(
            SELECT ROW(h.grid_id, 'tag', {no_day}, {no_day}, x.keygrouptag_id::text, 1, 0)
                   ::dashboard_grid_fact
            FROM new_rows x JOIN residents_resident r ON r.id = x.resident_id
                 JOIN residents_household h ON h.id = r.household_id
            WHERE r.living_status = 'resident'));
    ELSE
        PERFORM dashboard_apply_grid_facts(ARRAY(
            SELECT ROW(h.grid_id, 'tag', {no_day}, {no_day}, x.keygrouptag_id::text, -1, 0)
                   ::dashboard_grid_fact
            FROM old_rows x JOIN residents_resident r ON r.id = x.resident_id
                 JOIN residents_household h ON h.id = r.household_id
            WHERE r.living_status = 'resident'));
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = """
CREATE TRIGGER dashboard_ticket_insert_delete AFTER INSERT OR DELETE ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION dashboard_ticket_changed();
CREATE TRIGGER dashboard_ticket_update AFTER UPDATE ON tickets_ticket
    FOR EACH ROW WHEN (
        OLD.grid_id IS DISTINCT FROM NEW.grid_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.category_id IS DISTINCT FROM NEW.category_id
        OR OLD.channel IS DISTINCT FROM NEW.channel
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
        OR OLD.respond_by IS DISTINCT FROM NEW.respond_by
        OR OLD.responded_at IS DISTINCT FROM NEW.responded_at
        OR OLD.resolve_by IS DISTINCT FROM NEW.resolve_by
        OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
    ) EXECUTE FUNCTION dashboard_ticket_changed();

CREATE TRIGGER dashboard_event_insert AFTER INSERT ON tickets_ticketevent
    FOR EACH ROW WHEN (NEW.kind = 'rated' OR NEW.to_status = 'reopened')
    EXECUTE FUNCTION dashboard_event_changed();
CREATE TRIGGER dashboard_event_delete AFTER DELETE ON tickets_ticketevent
    FOR EACH ROW WHEN (OLD.kind = 'rated' OR OLD.to_status = 'reopened')
    EXECUTE FUNCTION dashboard_event_changed();
CREATE TRIGGER dashboard_event_update AFTER UPDATE ON tickets_ticketevent
    FOR EACH ROW WHEN (
        OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.kind IS DISTINCT FROM NEW.kind
        OR OLD.to_status IS DISTINCT FROM NEW.to_status OR OLD.data IS DISTINCT FROM NEW.data
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
    ) EXECUTE FUNCTION dashboard_event_changed();

CREATE TRIGGER dashboard_whistle_insert_delete AFTER INSERT OR DELETE ON tickets_whistle
    FOR EACH ROW EXECUTE FUNCTION dashboard_whistle_changed();
CREATE TRIGGER dashboard_whistle_update AFTER UPDATE ON tickets_whistle
    FOR EACH ROW WHEN (
        OLD.ticket_id IS DISTINCT FROM NEW.ticket_id
        OR OLD.department_id IS DISTINCT FROM NEW.department_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.reported_at IS DISTINCT FROM NEW.reported_at
    ) EXECUTE FUNCTION dashboard_whistle_changed();

CREATE TRIGGER dashboard_households_inserted AFTER INSERT ON residents_household
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_households_inserted();
CREATE TRIGGER dashboard_households_deleted AFTER DELETE ON residents_household
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_households_deleted();
CREATE TRIGGER dashboard_households_updated AFTER UPDATE ON residents_household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_households_updated();

CREATE TRIGGER dashboard_residents_inserted AFTER INSERT ON residents_resident
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_residents_inserted();
CREATE TRIGGER dashboard_residents_deleted AFTER DELETE ON residents_resident
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_residents_deleted();
CREATE TRIGGER dashboard_residents_updated AFTER UPDATE ON residents_resident
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_residents_updated();

CREATE TRIGGER dashboard_resident_tags_inserted AFTER INSERT ON residents_resident_tags
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_resident_tags_changed();
CREATE TRIGGER dashboard_resident_tags_deleted AFTER DELETE ON residents_resident_tags
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_resident_tags_changed();
"""

TRIGGER_TABLES = {
    "dashboard_ticket_insert_delete": "tickets_ticket",
    "dashboard_ticket_update": "tickets_ticket",
    "dashboard_event_insert": "tickets_ticketevent",
    "dashboard_event_delete": "tickets_ticketevent",
    "dashboard_event_update": "tickets_ticketevent",
    "dashboard_whistle_insert_delete": "tickets_whistle",
    "dashboard_whistle_update": "tickets_whistle",
    "dashboard_households_inserted": "residents_household",
    "dashboard_households_deleted": "residents_household",
    "dashboard_households_updated": "residents_household",
    "dashboard_residents_inserted": "residents_resident",
    "dashboard_residents_deleted": "residents_resident",
    "dashboard_residents_updated": "residents_resident",
    "dashboard_resident_tags_inserted": "residents_resident_tags",
    "dashboard_resident_tags_deleted": "residents_resident_tags",
}

# every fact of the database with the grid of its row (the rebuild's source)
ALL_FACTS = """
    SELECT t.grid_id, f.* FROM tickets_ticket t, LATERAL dashboard_ticket_facts(t) f
        {ticket_filter}
    UNION ALL
    SELECT t.grid_id, f.* FROM tickets_ticketevent e
        JOIN tickets_ticket t ON t.id = e.ticket_id, LATERAL dashboard_event_facts(e) f
        WHERE (e.kind = 'rated' OR e.to_status = 'reopened') {and_ticket_filter}
    UNION ALL
    SELECT t.grid_id, f.* FROM tickets_whistle w
        JOIN tickets_ticket t ON t.id = w.ticket_id, LATERAL dashboard_whistle_facts(w) f
        {ticket_filter}
    UNION ALL
    SELECT h.grid_id, f.* FROM residents_household h, LATERAL dashboard_household_facts(h) f
        {household_filter}
    UNION ALL
    SELECT h.grid_id, 'resident', {no_day}, {no_day}, '', 1, 0 FROM residents_resident r
        JOIN residents_household h ON h.id = r.household_id
        WHERE r.living_status = 'resident' {and_household_filter}
    UNION ALL
    SELECT h.grid_id, 'tag', {no_day}, {no_day}, x.keygrouptag_id::text, 1, 0
        FROM residents_resident_tags x
        JOIN residents_resident r ON r.id = x.resident_id
        JOIN residents_household h ON h.id = r.household_id
        WHERE r.living_status = 'resident' {and_household_filter}
"""


def _sql(template: str, **extra: str) -> str:
    return template.format(**_literals(), **extra)


def _facts_sql(grid_filter: str = "") -> str:
    """``ALL_FACTS``, restricted to rows whose grid satisfies ``grid_filter`` (SQL on a
    grid id placeholder ``{col}``) when one is given."""
    if not grid_filter:
        return _sql(
            ALL_FACTS,
            ticket_filter="",
            and_ticket_filter="",
            household_filter="",
            and_household_filter="",
        )
    on_ticket = grid_filter.format(col="t.grid_id")
    on_household = grid_filter.format(col="h.grid_id")
    return _sql(
        ALL_FACTS,
        ticket_filter=f"WHERE {on_ticket}",
        and_ticket_filter=f"AND {on_ticket}",
        household_filter=f"WHERE {on_household}",
        and_household_filter=f"AND {on_household}",
    )


def install_type(cursor) -> None:
    cursor.execute(TYPE)


def install_functions(cursor) -> None:
    cursor.execute(_sql(FUNCTIONS))


def install_triggers(cursor) -> None:
    cursor.execute(TRIGGERS)


def uninstall(cursor) -> None:
    for trigger, table in TRIGGER_TABLES.items():
        cursor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    cursor.execute("DROP TYPE IF EXISTS dashboard_fact CASCADE")
    cursor.execute("DROP TYPE IF EXISTS dashboard_grid_fact CASCADE")
    for function in (
        "dashboard_local_date(timestamptz)",
        "dashboard_ancestors(bigint)",
        "dashboard_ticket_grid(bigint)",
        "dashboard_household_grid(bigint)",
        "dashboard_ticket_changed()",
        "dashboard_event_changed()",
        "dashboard_whistle_changed()",
        "dashboard_households_inserted()",
        "dashboard_households_deleted()",
        "dashboard_households_updated()",
        "dashboard_residents_inserted()",
        "dashboard_residents_deleted()",
        "dashboard_residents_updated()",
        "dashboard_resident_tags_changed()",
    ):
        cursor.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")


def rebuild(cursor, grid_ids: list[int] | None) -> int:
    """Delete and recompute the rows of ``grid_ids`` (every grid when ``None``)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPACT_LOCK])  # no compaction meanwhile
    cursor.execute("SET LOCAL work_mem = '256MB'")  # one big aggregation, best in memory
    cursor.execute(
        "CREATE TEMPORARY TABLE dashboard_up ON COMMIT DROP AS "
        "SELECT g.id AS grid_id, up.ancestor, up.child "
        "FROM grids_grid g, LATERAL dashboard_ancestors(g.id) up"
        + ("" if grid_ids is None else " WHERE up.ancestor = ANY(%s)"),
        [] if grid_ids is None else [grid_ids],
    )
    cursor.execute("CREATE INDEX ON dashboard_up (grid_id)")
    cursor.execute("ANALYZE dashboard_up")
    if grid_ids is None:
        try:
            with transaction.atomic():
                cursor.execute("TRUNCATE dashboard_rollup, dashboard_rollupdelta")
        except OperationalError:  # rows changed earlier in this transaction: delete instead
            cursor.execute("DELETE FROM dashboard_rollup")
            cursor.execute("DELETE FROM dashboard_rollupdelta")
        source = _facts_sql()
    else:
        cursor.execute("DELETE FROM dashboard_rollup WHERE grid_id = ANY(%s)", [grid_ids])
        cursor.execute("DELETE FROM dashboard_rollupdelta WHERE grid_id = ANY(%s)", [grid_ids])
        source = _facts_sql("{col} IN (SELECT grid_id FROM dashboard_up)")
    cursor.execute(
        _sql(
            """
            INSERT INTO dashboard_rollup (grid_id, child, metric, day, day2, key, n, total)
            SELECT u.ancestor,
                   CASE WHEN f.metric IN ({split}) THEN u.child ELSE 0 END,
                   f.metric, f.day, f.day2, f.key, SUM(f.n), SUM(f.total)
            FROM ({source}) AS f (grid_id, metric, day, day2, key, n, total)
            JOIN dashboard_up u ON u.grid_id = f.grid_id
            GROUP BY 1, 2, 3, 4, 5, 6
            HAVING SUM(f.n) <> 0 OR SUM(f.total) <> 0
            -- written in the order of the dashboard's index: a grid's rows for a range
            -- of days lie together on disk, and a county is read from a few pages
            ORDER BY 1, 3, 4, 5, 2, 6
            """,
            source=_facts_sql() if grid_ids is None else source,
        )
    )
    cursor.execute("DROP TABLE dashboard_up")
    cursor.execute("SELECT count(*) FROM dashboard_rollup")
    return cursor.fetchone()[0]


def move_subtree(cursor, grid, moves: list[tuple[int, int, int]]) -> None:
    """Add ``sign`` × the facts of ``grid``'s subtree to each ``(rollup grid, child,
    sign)`` of ``moves``."""
    moves = [m for m in moves if m[0] != grid.pk]
    if not moves:
        return
    subtree = (
        "{col} IN (SELECT id FROM grids_grid "
        f"WHERE tree_id = {int(grid.tree_id)} AND lft >= {int(grid.lft)} "
        f"AND rght <= {int(grid.rght)})"
    )
    values = ", ".join(f"({int(g)}, {int(c)}, {int(s)})" for g, c, s in moves)
    cursor.execute(
        _sql(
            """
            INSERT INTO dashboard_rollupdelta (grid_id, child, metric, day, day2, key, n, total)
            SELECT m.grid_id,
                   CASE WHEN f.metric IN ({split}) THEN m.child ELSE 0 END,
                   f.metric, f.day, f.day2, f.key, SUM(m.sign * f.n), SUM(m.sign * f.total)
            FROM ({source}) AS f (grid_id, metric, day, day2, key, n, total)
            CROSS JOIN (VALUES {values}) AS m (grid_id, child, sign)
            GROUP BY 1, 2, 3, 4, 5, 6
            HAVING SUM(m.sign * f.n) <> 0 OR SUM(m.sign * f.total) <> 0
            """,
            source=_facts_sql(subtree),
            values=values,
        )
    )


# one compaction at a time (a transaction-level advisory lock; the number is arbitrary)
COMPACT_LOCK = 0x6461_7368  # "dash"


def compact(cursor, batch: int) -> int | None:
    """Fold up to ``batch`` pending changes, oldest first, into ``dashboard_rollup`` in
    one statement; returns how many were folded, or ``None`` when another compaction
    holds the lock. Changes of transactions not yet committed are not seen and wait for
    the next run."""
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACT_LOCK])
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(
        """
        WITH folded AS (
            DELETE FROM dashboard_rollupdelta
            WHERE id IN (SELECT id FROM dashboard_rollupdelta ORDER BY id LIMIT %s)
            RETURNING grid_id, child, metric, day, day2, key, n, total
        ), sums AS (
            SELECT grid_id, child, metric, day, day2, key, SUM(n) AS n, SUM(total) AS total,
                   count(*) AS changes
            FROM folded GROUP BY 1, 2, 3, 4, 5, 6
        ), written AS (
            INSERT INTO dashboard_rollup AS r (grid_id, child, metric, day, day2, key, n, total)
            SELECT grid_id, child, metric, day, day2, key, n, total FROM sums
            WHERE n <> 0 OR total <> 0
            ORDER BY 1, 2, 3, 4, 5, 6
            ON CONFLICT (grid_id, metric, day, day2, child, key)
            DO UPDATE SET n = r.n + EXCLUDED.n, total = r.total + EXCLUDED.total
        )
        SELECT COALESCE(SUM(changes), 0) FROM sums
        """,
        [batch],
    )
    return int(cursor.fetchone()[0])
