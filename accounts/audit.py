"""The audit log of master data and settings (DESIGN.md: accounts owns it).

Every INSERT, UPDATE and DELETE of a customer, the organization, a membership (members and
roles), the invoice settings (bank details, numbering, e-mail templates), an API key (created,
revoked) and the reminder settings (the organization's and each customer's) writes one
AuditEvent: who (`app.user_id`), when, from where (`app.client_ip`, `app.user_agent`: set per
request by the tenancy middleware), the row before and after, and which columns changed.

Written by an AFTER trigger (`ledger_audit()`, SECURITY DEFINER), so nothing escapes it: not a
view that forgets, not the admin, not a script; the application role may read the log (its own
organization's, under RLS) but holds no right to write, change or delete it.

Why not django-pghistory: it is a good library built on the same idea (triggers), but it creates
one event table per tracked model and carries its context in its own session variable; here the
request context (user, organization) is already in session settings that RLS reads, one table with
before/after JSON serves the customer page, the organization-wide page and the CSV alike, and it
adds no dependency. The trigger is fifteen lines.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    -- Arguments after the organization column: the row's own bookkeeping (usage counters, scan
    -- times, secrets' hashes), neither logged nor a change (API keys, reminder settings).
    quiet text[] := coalesce(TG_ARGV[1:TG_NARGS - 1], '{}');
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - quiet END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - quiet END;
    row_now jsonb := coalesce(new_row, old_row);
BEGIN
    -- updated_at is the row's own bookkeeping (the API's updated_since), not a change anyone made.
    IF TG_OP = 'UPDATE' AND (old_row - 'updated_at') = (new_row - 'updated_at') THEN
        RETURN NULL;
    END IF;
    INSERT INTO accounts_auditevent (organization_id, at, actor_id, ip, user_agent, table_name, object_id, action,
                                     before, after, changed)
    VALUES ((row_now ->> TG_ARGV[0])::bigint, clock_timestamp(),
            NULLIF(current_setting('app.user_id', true), '')::bigint,
            left(coalesce(current_setting('app.client_ip', true), ''), 45),
            left(coalesce(current_setting('app.user_agent', true), ''), 300),
            TG_TABLE_NAME, (row_now ->> 'id')::bigint, lower(TG_OP), old_row, new_row,
            coalesce((SELECT jsonb_agg(key ORDER BY key) FROM jsonb_object_keys(row_now) AS key
                      WHERE key <> 'updated_at' AND (new_row -> key) IS DISTINCT FROM (old_row -> key)),
                     '[]'::jsonb));
    RETURN NULL;
END;
$$;
"""

# The log itself: read under the usual tenant policy; written only through ledger_audit() (the
# role has no INSERT right), which may log a row of an organization other than the session's
# (creating an organization, signing up).
POLICIES = """
CREATE POLICY audit_written_by_trigger ON accounts_auditevent FOR INSERT WITH CHECK (true);
"""


def audit_sql(table: str, org_column: str = "organization_id", quiet: tuple[str, ...] = ()) -> migrations.RunSQL:
    """`quiet`: columns that are the row's own bookkeeping: left out of the log, and a change of
    only them is no event (an API key's last use, the reminder scan's time)."""
    args = ", ".join(f"'{column}'" for column in (org_column, *quiet))
    return migrations.RunSQL(
        f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION ledger_audit({args});",
        f"DROP TRIGGER {table}_audit ON {table};",
    )


# Credit limit and payment terms change only through accounts.credit_terms, which turns
# app.credit_terms_by_owner on after checking the actor is an owner (accounts migration 0016).
CREDIT_TERMS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_guard_credit_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.credit_limit, NEW.payment_terms_days) IS DISTINCT FROM (OLD.credit_limit, OLD.payment_terms_days)
       AND coalesce(current_setting('app.credit_terms_by_owner', true), '') <> 'on' THEN
        RAISE EXCEPTION 'customer %: credit limit and payment terms change only by an owner''s decision '
                        '(accounts.credit_terms)', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_customer_credit_terms BEFORE UPDATE OF credit_limit, payment_terms_days
    ON accounts_customer FOR EACH ROW EXECUTE FUNCTION ledger_guard_credit_terms();
"""
DROP_CREDIT_TERMS_GUARD = ("DROP TRIGGER accounts_customer_credit_terms ON accounts_customer; "
                  "DROP FUNCTION ledger_guard_credit_terms();")
