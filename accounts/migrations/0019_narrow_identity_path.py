"""Issue 22 #9: the application role cannot read password hashes or list sessions (accounts/identity.py).

Password hashes move to ledger_private.password_hash (no privilege for the application role, not
even USAGE on the schema); accounts_user.password keeps the public part (algorithm$parameters$salt$).
django_session is reached only through ledger_session_* functions that take the secret key; the
post_migrate grant (accounts/signals.py) revokes the role's rights on the table itself."""

from django.db import migrations

FORWARD = r"""
CREATE SCHEMA IF NOT EXISTS ledger_private;
REVOKE ALL ON SCHEMA ledger_private FROM PUBLIC;
CREATE TABLE ledger_private.password_hash (
    user_id bigint PRIMARY KEY,
    encoded text NOT NULL
);

-- Existing users: the hash into the vault, the public part stays.
INSERT INTO ledger_private.password_hash (user_id, encoded)
    SELECT id, password FROM accounts_user
    WHERE password NOT LIKE '!%%' AND position('$' in password) > 0 AND right(password, 1) <> '$';
UPDATE accounts_user SET password = regexp_replace(password, '[^$]*$', '')
    WHERE password NOT LIKE '!%%' AND position('$' in password) > 0 AND right(password, 1) <> '$';

CREATE FUNCTION ledger_password_vault() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM ledger_private.password_hash WHERE user_id = OLD.id;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.password IS NOT DISTINCT FROM OLD.password THEN
        RETURN NEW;
    END IF;
    IF NEW.password IS NULL OR NEW.password LIKE '!%' OR position('$' in NEW.password) = 0 THEN
        DELETE FROM ledger_private.password_hash WHERE user_id = NEW.id;  -- unusable password
    ELSIF right(NEW.password, 1) <> '$' THEN
        INSERT INTO ledger_private.password_hash (user_id, encoded) VALUES (NEW.id, NEW.password)
            ON CONFLICT (user_id) DO UPDATE SET encoded = EXCLUDED.encoded;
        NEW.password := regexp_replace(NEW.password, '[^$]*$', '');
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_user_password_vault BEFORE INSERT OR UPDATE OR DELETE ON accounts_user
    FOR EACH ROW EXECUTE FUNCTION ledger_password_vault();

-- Yes or no for one user and one candidate hash (computed by the application from the public part).
CREATE FUNCTION ledger_password_matches(p_user bigint, p_candidate text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT encoded = p_candidate FROM ledger_private.password_hash WHERE user_id = p_user), false)
$$;

CREATE FUNCTION ledger_session_load(p_key text) RETURNS TABLE (session_data text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.session_data FROM public.django_session s WHERE s.session_key = p_key AND s.expire_date > now()
$$;

CREATE FUNCTION ledger_session_exists(p_key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.django_session WHERE session_key = p_key)
$$;

CREATE FUNCTION ledger_session_save(p_key text, p_data text, p_expire timestamptz, p_must_create boolean)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_must_create THEN
        INSERT INTO public.django_session (session_key, session_data, expire_date)
            VALUES (p_key, p_data, p_expire) ON CONFLICT (session_key) DO NOTHING;
    ELSE
        UPDATE public.django_session SET session_data = p_data, expire_date = p_expire WHERE session_key = p_key;
    END IF;
    RETURN FOUND;
END $$;

CREATE FUNCTION ledger_session_delete(p_key text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM public.django_session WHERE session_key = p_key
$$;

CREATE FUNCTION ledger_session_clear_expired() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM public.django_session WHERE expire_date < now()
$$;
"""

BACKWARD = r"""
DROP TRIGGER accounts_user_password_vault ON accounts_user;
UPDATE accounts_user u SET password = h.encoded FROM ledger_private.password_hash h WHERE h.user_id = u.id;
DROP FUNCTION ledger_password_vault(), ledger_password_matches(bigint, text), ledger_session_load(text),
    ledger_session_exists(text), ledger_session_save(text, text, timestamptz, boolean), ledger_session_delete(text),
    ledger_session_clear_expired();
DROP SCHEMA ledger_private CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0018_exchange_rates"), ("sessions", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
