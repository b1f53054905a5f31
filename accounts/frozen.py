"""Issued documents and their records, frozen by the database (DESIGN.md invariant 9).

Two trigger functions (accounts migration 0006) do what `ledger_refuse_change` does for the
journal, for rows that keep a few maintained running figures after they are issued:

- `ledger_guard_frozen(state_column, editable_states, mutable_columns)`: while the row's state
  is one of the editable states (an invoice's "draft", a reminder still in the outbox) anything
  goes; afterwards an UPDATE may change only the mutable columns (and never bring the row back
  to an editable state), DELETE and TRUNCATE are refused. An empty state column means "frozen
  from the start" (a credit note, a payment). Optional fourth and fifth arguments: final states,
  and the columns that still change in them (none by default). Once the row is in a final state
  only those change: a delivery-log row's progress columns move until it is sent, then nothing;
  a quote's decision (accepted or declined, when, from where) is made once, after which only the
  conversion to an invoice or schedule is recorded.
- `ledger_guard_child(parent_table, fk_column, state_column, editable_states, operations)`: a row
  that belongs to a document (an invoice's lines, its timeline) may be changed (the listed
  operations) only while its parent is in an editable state; TRUNCATE is refused.

`frozen_sql(table, ...)` and `child_sql(table, ...)` are the migration operations; FROZEN_TABLES
and CHILD_TABLES (accounts.signals) list every table that carries them, and
tests/test_append_only_tables.py checks the lists against the triggers in the database.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION ledger_guard_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    state_col text := TG_ARGV[0];
    editable text[] := string_to_array(TG_ARGV[1], ',');
    mutable text[] := coalesce(string_to_array(TG_ARGV[2], ','), '{}');
    final text[] := coalesce(string_to_array(TG_ARGV[3], ','), '{}');
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'issued records are frozen: TRUNCATE on % refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    old_row := to_jsonb(OLD);
    IF state_col <> '' AND (old_row ->> state_col) = ANY(editable) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF state_col <> '' AND (old_row ->> state_col) = ANY(final) THEN
        -- A final state: only the columns listed for it (none by default) still change.
        mutable := coalesce(string_to_array(TG_ARGV[4], ','), '{}');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        new_row := to_jsonb(NEW);
        IF (new_row - mutable) = (old_row - mutable)
                AND NOT (state_col <> '' AND (new_row ->> state_col) = ANY(editable)) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'issued records are frozen: % of % id % refused', TG_OP, TG_TABLE_NAME, old_row ->> 'id'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only the maintained running figures change after issue; correct with a credit note or reversal.';
END;
$$;

CREATE OR REPLACE FUNCTION ledger_guard_child() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_table text := TG_ARGV[0];
    fk_col text := TG_ARGV[1];
    state_col text := TG_ARGV[2];
    editable text[] := string_to_array(TG_ARGV[3], ',');
    allowed text[] := string_to_array(TG_ARGV[4], ',');
    parent_state text;
    new_parent_state text;
BEGIN
    IF TG_OP <> 'TRUNCATE' AND TG_OP = ANY(allowed) THEN
        EXECUTE format('SELECT %I::text FROM %I WHERE id = $1', state_col, parent_table)
            INTO parent_state USING (to_jsonb(OLD) ->> fk_col)::bigint;
        IF TG_OP = 'UPDATE' THEN
            EXECUTE format('SELECT %I::text FROM %I WHERE id = $1', state_col, parent_table)
                INTO new_parent_state USING (to_jsonb(NEW) ->> fk_col)::bigint;
        ELSE
            new_parent_state := parent_state;
        END IF;
        IF parent_state = ANY(editable) AND new_parent_state = ANY(editable) THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'issued records are frozen: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The document this row belongs to has been issued.';
END;
$$;
"""

DROP_FUNCTIONS = "DROP FUNCTION ledger_guard_frozen(); DROP FUNCTION ledger_guard_child();"


def _args(*values: str) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def frozen_sql(table: str, *, state: str = "", editable: tuple = (), mutable: tuple = (),
               final: tuple = (), final_mutable: tuple = (), after: bool = False) -> migrations.RunSQL:
    """`after`: check each row once written (AFTER UPDATE OR DELETE; a refusal still undoes the
    statement). Needed when `state` is a stored generated column: PostgreSQL computes it only after
    the BEFORE triggers, which would read the new state as null."""
    extra = [",".join(final)] + ([",".join(final_mutable)] if final_mutable else []) if final else []
    args = _args(state, ",".join(editable), ",".join(mutable), *extra)
    return migrations.RunSQL(
        f"""
        CREATE TRIGGER {table}_frozen {"AFTER" if after else "BEFORE"} UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_guard_frozen({args});
        CREATE TRIGGER {table}_frozen_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_guard_frozen({args});
        """,
        f"DROP TRIGGER {table}_frozen ON {table}; DROP TRIGGER {table}_frozen_truncate ON {table};",
    )


def frozen_skip_editable_sql(table: str, *, state: str, editable: tuple, mutable: tuple = ()) -> migrations.RunSQL:
    """Re-create a `frozen_sql` row trigger (no final states, BEFORE) so that PostgreSQL calls it only
    for a row that is no longer in an editable state: the function lets such a row through anyway, but
    calling it costs two to_jsonb of the row (a scan's grouping of its new outbox rows spent half its
    time there). Same function, same arguments; a row leaving an editable state is checked as before."""
    args = _args(state, ",".join(editable), ",".join(mutable))
    states = ", ".join("'" + v.replace("'", "''") + "'" for v in editable)
    drop = f"DROP TRIGGER {table}_frozen ON {table};"

    def create(when: str) -> str:
        return (f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION ledger_guard_frozen({args});")

    return migrations.RunSQL(drop + create(f" WHEN (OLD.{state} IS NULL OR OLD.{state}::text NOT IN ({states}))"),
                             drop + create(""))


def child_sql(table: str, *, parent: str, fk: str, state: str, editable: tuple, operations: tuple) -> migrations.RunSQL:
    args = _args(parent, fk, state, ",".join(editable), ",".join(operations))
    return migrations.RunSQL(
        f"""
        CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_guard_child({args});
        CREATE TRIGGER {table}_frozen_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_guard_child({args});
        """,
        f"DROP TRIGGER {table}_frozen ON {table}; DROP TRIGGER {table}_frozen_truncate ON {table};",
    )


def append_only_sql(table: str) -> migrations.RunSQL:
    """The journal's own guard (accounts 0004's ledger_refuse_change) on another table."""
    return migrations.RunSQL(
        f"""
        CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
        """,
        f"DROP TRIGGER {table}_no_update_delete ON {table}; DROP TRIGGER {table}_no_truncate ON {table};",
    )
