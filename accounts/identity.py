"""The narrow path to password hashes and sessions (issue 22 #9).

The application role reads `accounts_user` like any table, but the password column keeps only the
public part of a hash (algorithm, parameters, salt: `pbkdf2_sha256$1000000$salt$`); the hash itself
lives in `ledger_private.password_hash`, a schema the role cannot even name. The trigger
`accounts_user_password_vault` moves it there on every write, and `ledger_password_matches(user,
candidate)` answers yes or no for one user: the role can check a password it was given, never list
or read a hash. Sessions: the role has no privilege on `django_session`; `SessionStore` goes through
`ledger_session_*` functions that need the (secret) session key, so nothing lists sessions.

Both are SECURITY DEFINER functions owned by the migration role (accounts migration 0016).
"""

from django.contrib.auth.hashers import check_password as django_check_password
from django.contrib.auth.hashers import get_hasher, is_password_usable
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import SuspiciousOperation
from django.db import connection


def public_part(encoded: str | None) -> str:
    """Everything up to and including the last '$': what accounts_user.password keeps."""
    if not encoded or not is_password_usable(encoded) or "$" not in encoded:
        return encoded or ""
    return encoded[:encoded.rindex("$") + 1]


def check_user_password(user, raw_password, setter=None) -> bool:
    """Django's check_password for a user whose stored hash is in the vault."""
    stored = user.password or ""
    if raw_password is None or not is_password_usable(stored):
        return False
    if stored and not stored.endswith("$"):
        # A full hash in memory (set_password before save): nothing to ask the database.
        return django_check_password(raw_password, stored, setter)
    try:
        hasher = get_hasher(stored.split("$", 1)[0])
        params = hasher.decode(stored + "0")  # the hash segment is not needed for the parameters
    except (ValueError, KeyError):
        return False
    kwargs = {"iterations": params["iterations"]} if "iterations" in params else {}
    candidate = hasher.encode(raw_password, params["salt"], **kwargs)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_password_matches(%s, %s)", [user.pk, candidate])
        matches = bool(cursor.fetchone()[0])
    preferred = get_hasher()
    if matches and setter and (hasher.algorithm != preferred.algorithm or preferred.must_update(stored + "0")):
        setter(raw_password)  # a stronger default hasher or more iterations: re-hash now
    return matches


class SessionStore(DbSessionStore):
    """Django's database sessions, through functions that need the session key."""

    def _get_session_from_db(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT session_data FROM ledger_session_load(%s)", [self.session_key])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])

    def load(self):
        s = self._get_session_from_db()
        try:
            return self.decode(s.session_data) if s else {}
        except SuspiciousOperation:
            self._session_key = None
            return {}

    def exists(self, session_key):
        with connection.cursor() as cursor:
            cursor.execute("SELECT ledger_session_exists(%s)", [session_key])
            return bool(cursor.fetchone()[0])

    def save(self, must_create=False):
        from django.contrib.sessions.backends.base import CreateError, UpdateError

        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        with connection.cursor() as cursor:
            cursor.execute("SELECT ledger_session_save(%s, %s, %s, %s)",
                           [self._get_or_create_session_key(), self.encode(data), self.get_expiry_date(),
                            must_create])
            saved = bool(cursor.fetchone()[0])
        if not saved:
            raise CreateError if must_create else UpdateError

    def delete(self, session_key=None):
        key = session_key or self.session_key
        if key is None:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT ledger_session_delete(%s)", [key])

    @classmethod
    def clear_expired(cls):
        with connection.cursor() as cursor:
            cursor.execute("SELECT ledger_session_clear_expired()")

    # The async variants (unused: the product is WSGI) would bypass the functions; refuse them.
    async def aload(self):
        raise NotImplementedError("accounts.identity.SessionStore is synchronous")

    aexists = asave = adelete = aload
