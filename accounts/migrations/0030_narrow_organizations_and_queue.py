"""Issue 22 #9, the rest: organizations and the task queue out of the application role's reach.

Like password hashes and sessions (0019), what the role needs without a tenant context goes through
SECURITY DEFINER functions that answer one narrow question:

- `accounts_organization` gets row-level security: a session sees the organization of its context
  (`app.organization_id`) and those its user (`app.user_id`) is a member of, nothing else.
  `ledger_organization_ids()` (ids only, for the scheduled loops that enter each organization in
  turn), `ledger_organization_slug_taken(slug, except)` and `ledger_organization_for_slug(slug)`
  (management commands naming an organization) answer the rest (accounts/org_directory.py).
- django-q2's tables (`django_q_ormq`, `django_q_schedule`, `django_q_task`): the application role
  has no privilege on them (revoked after every migrate, accounts/signals.py). The worker connects
  as its own role (`APP_WORKER_DB_USER`, created here: a member of the application role, so it has
  the same rights and obeys the same row-level security, plus the queue tables). The web side
  queues a task with `ledger_task_enqueue`, a failed e-mail's retry with `ledger_schedule_once`,
  and the reminder health page reads counts with `ledger_queue_health` and
  `ledger_task_failures` (function names and times, no arguments or results).
"""

from django.conf import settings
from django.db import migrations

from accounts.rls import ORG_SETTING, USER_SETTING


def create_worker_role(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    role, password = settings.APP_WORKER_DB_USER, settings.APP_WORKER_DB_PASSWORD
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE ROLE {quote(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT"
                " PASSWORD %s", [password])
        cursor.execute(f"GRANT {quote(settings.APP_DB_USER)} TO {quote(role)}")
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database)} TO {quote(role)}")


FORWARD = f"""
ALTER TABLE accounts_organization ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts_organization FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_in_context ON accounts_organization
    USING (id = {ORG_SETTING}) WITH CHECK (id = {ORG_SETTING});
CREATE POLICY organization_of_member ON accounts_organization FOR SELECT
    USING (EXISTS (SELECT 1 FROM accounts_membership m
                   WHERE m.organization_id = accounts_organization.id AND m.user_id = {USER_SETTING}));

CREATE FUNCTION ledger_organization_ids() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id FROM public.accounts_organization ORDER BY id
$$;

CREATE FUNCTION ledger_organization_slug_taken(p_slug text, p_except bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.accounts_organization
                   WHERE slug = p_slug AND id IS DISTINCT FROM p_except)
$$;

CREATE FUNCTION ledger_organization_for_slug(p_slug text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT id FROM public.accounts_organization WHERE slug = p_slug
$$;

CREATE FUNCTION ledger_task_enqueue(p_key text, p_payload text, p_lock timestamptz) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO public.django_q_ormq (key, payload, lock) VALUES (p_key, p_payload, coalesce(p_lock, now()))
    RETURNING id
$$;

CREATE FUNCTION ledger_schedule_once(p_name text, p_func text, p_args text, p_next_run timestamptz)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO public.django_q_schedule (name, func, args, schedule_type, repeats, next_run)
    VALUES (left(p_name, 100), p_func, p_args, 'O', -1, p_next_run)
    RETURNING id
$$;

CREATE FUNCTION ledger_queue_health(p_func text)
RETURNS TABLE (depth bigint, waiting bigint, next_run timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT (SELECT count(*) FROM public.django_q_ormq),
           (SELECT count(*) FROM public.django_q_ormq WHERE lock IS NULL OR lock < now()),
           (SELECT next_run FROM public.django_q_schedule WHERE func = p_func ORDER BY id LIMIT 1)
$$;

CREATE FUNCTION ledger_task_failures(p_prefix text, p_limit integer)
RETURNS TABLE (func text, stopped timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT func, stopped FROM public.django_q_task
    WHERE NOT success AND starts_with(func, p_prefix) ORDER BY stopped DESC LIMIT least(p_limit, 100)
$$;
"""  # noqa: S608 - the settings expressions are constants (accounts.rls)

BACKWARD = """
DROP FUNCTION ledger_organization_ids(), ledger_organization_slug_taken(text, bigint),
    ledger_organization_for_slug(text), ledger_task_enqueue(text, text, timestamptz),
    ledger_schedule_once(text, text, text, timestamptz), ledger_queue_health(text),
    ledger_task_failures(text, integer);
DROP POLICY organization_of_member ON accounts_organization;
DROP POLICY organization_in_context ON accounts_organization;
ALTER TABLE accounts_organization NO FORCE ROW LEVEL SECURITY;
ALTER TABLE accounts_organization DISABLE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [('accounts', '0029_frozen_final_states'),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [
        migrations.RunPython(create_worker_role, migrations.RunPython.noop),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
