"""The global search's and the lists' indexes that row-level security can use (issue 21;
ledger_site.search, the invoice and payment lists' amount filters).

Why they need operators of their own. Under row-level security PostgreSQL evaluates the policy's
test before any condition of the query that is not *leakproof*, and only a leakproof condition
may become an index condition (docs/tenancy.md). LIKE, ILIKE, upper() and every numeric
comparison are not marked leakproof, so `upper(number) LIKE '%…%'` or `total = 1250` could use no
index: each search read all of the organization's invoices (~0.5 s at 1,000,000), whatever it
found. The first trigram indexes (on `upper(column)`, accounts 0022 etc.) were never used by the
application role for that reason.

So accounts 0035 makes, as the migrating owner (who must be a superuser to declare a function
leakproof; the docker-compose and Debian owners are):
- `ledger_ilike(text, text)`, the built-in `texticlike` (ILIKE) declared leakproof, as the
  operator `#~~*#`; its one error ("LIKE pattern must not end with escape character") depends on
  the pattern only, which the application always builds itself from escaped text
  (`django.db.backends` `prep_for_like_query`), never from a row;
- `ledger_num_lt/le/eq/ge/gt(numeric, numeric)`, the built-in numeric comparisons (which raise
  no error for any two numbers) declared leakproof, as `#<#`, `#<=#`, `#=#`, `#>=#`, `#>#`, and
  a btree operator class `ledger_numeric_ops` of them;
- where the server has pg_trgm, a GIN operator class `ledger_trgm_ops` whose ILIKE strategy is
  `#~~*#` (pg_trgm's own extraction and consistency functions).
The invoicing and payments migrations then make the indexes on their own tables with these
classes (SEARCH_INDEXES below; issue 12: an app indexes only its own tables). Without a superuser
the operators are plain SQL functions (same answers, no index, no leakproof claim) and no index is
made; without pg_trgm no trigram index is made. The lookups in `accounts.search_ops` write the
operators; the policy's test still applies to every row (nothing bypasses row-level security).

The indexes are kept out of the models' Meta: they exist or not by database, not by model state.
"""

from django.db import migrations

TRGM = "ledger_trgm_ops"
NUM = "ledger_numeric_ops"

# index name -> (table, method, the indexed columns with their operator class)
SEARCH_INDEXES = {
    "search_customer_trgm": ("accounts_customer", "gin", (f"name {TRGM}", f"code {TRGM}",
                                                          f"billing_emails {TRGM}", f"tax_id {TRGM}")),
    "search_invoice_trgm": ("invoicing_invoice", "gin", (f"number {TRGM}", f"reference {TRGM}")),
    "search_payment_trgm": ("payments_payment", "gin", (f"reference {TRGM}",)),
    # the amount typed in the search, the invoice list's total filter, the payment list's amount
    "lp_invoice_total": ("invoicing_invoice", "btree", ("organization_id", f"total {NUM}", "id")),
    "lp_payment_amount": ("payments_payment", "btree", ("organization_id", f"amount {NUM}", "id")),
}

# The first trigram indexes (accounts 0022, invoicing 0010, payments 0010): on upper(column), which
# row-level security never let the application role use. Replaced under the same names.
_UPPER_INDEXES = {
    "search_customer_trgm": ("accounts_customer", ("upper(name)", "upper(code)", "upper(billing_emails)",
                                                   "upper(tax_id)")),
    "search_invoice_trgm": ("invoicing_invoice", ("upper(number)", "upper(reference)")),
    "search_payment_trgm": ("payments_payment", ("upper(reference)",)),
}

NUMERIC_OPERATORS = [  # (operator, built-in function, selectivity estimator, commutator, negator)
    ("#<#", "numeric_lt", "scalarltsel", "#>#", "#>=#"),
    ("#<=#", "numeric_le", "scalarlesel", "#>=#", "#>#"),
    ("#=#", "numeric_eq", "eqsel", "#=#", None),
    ("#>=#", "numeric_ge", "scalargesel", "#<=#", "#<#"),
    ("#>#", "numeric_gt", "scalargtsel", "#<#", "#<=#"),
]


def trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    return cursor.fetchone() is not None


def superuser(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def _operator_class_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_opclass WHERE opcname = %s", [name])
    return cursor.fetchone() is not None


def create_operators(apps, schema_editor):
    """accounts 0035: the leakproof operators (or, without a superuser, their plain twins)."""
    with schema_editor.connection.cursor() as cursor:
        if superuser(cursor):
            cursor.execute("CREATE OR REPLACE FUNCTION ledger_ilike(text, text) RETURNS boolean LANGUAGE internal"
                           " IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE AS 'texticlike'")
            for _op, function, *_rest in NUMERIC_OPERATORS:
                cursor.execute(f"CREATE OR REPLACE FUNCTION ledger_{function.replace('numeric_', 'num_')}"
                               f"(numeric, numeric) RETURNS boolean LANGUAGE internal IMMUTABLE STRICT LEAKPROOF"
                               f" PARALLEL SAFE AS '{function}'")
        else:
            cursor.execute("CREATE OR REPLACE FUNCTION ledger_ilike(text, text) RETURNS boolean LANGUAGE sql"
                           " IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1 ILIKE $2'")
            sql_op = {"numeric_lt": "<", "numeric_le": "<=", "numeric_eq": "=", "numeric_ge": ">=", "numeric_gt": ">"}
            for _op, function, *_rest in NUMERIC_OPERATORS:
                cursor.execute(f"CREATE OR REPLACE FUNCTION ledger_{function.replace('numeric_', 'num_')}"
                               f"(numeric, numeric) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
                               f" AS 'SELECT $1 {sql_op[function]} $2'")
        cursor.execute("CREATE OPERATOR #~~*# (LEFTARG = text, RIGHTARG = text, FUNCTION = ledger_ilike,"
                       " RESTRICT = iclikesel, JOIN = iclikejoinsel)")
        for op, function, estimator, commutator, negator in NUMERIC_OPERATORS:
            join = estimator.replace("sel", "joinsel") if estimator != "eqsel" else "eqjoinsel"
            extra = f", NEGATOR = {negator}" if negator else ""
            cursor.execute(f"CREATE OPERATOR {op} (LEFTARG = numeric, RIGHTARG = numeric,"
                           f" FUNCTION = ledger_{function.replace('numeric_', 'num_')}, COMMUTATOR = {commutator},"
                           f" RESTRICT = {estimator}, JOIN = {join}{extra})")
        if not superuser(cursor):
            return
        cursor.execute(f"CREATE OPERATOR CLASS {NUM} FOR TYPE numeric USING btree AS"
                       " OPERATOR 1 #<#, OPERATOR 2 #<=#, OPERATOR 3 #=#, OPERATOR 4 #>=#, OPERATOR 5 #>#,"
                       " FUNCTION 1 numeric_cmp(numeric, numeric)")
        if trigram_available(cursor):
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE OPERATOR CLASS {TRGM} FOR TYPE text USING gin AS"
                " OPERATOR 4 #~~*# (text, text),"
                " FUNCTION 1 btint4cmp(int4, int4),"
                " FUNCTION 2 gin_extract_value_trgm(text, internal),"
                " FUNCTION 3 gin_extract_query_trgm(text, internal, int2, internal, internal, internal, internal),"
                " FUNCTION 4 gin_trgm_consistent(internal, int2, text, int4, internal, internal, internal, internal),"
                " FUNCTION 6 gin_trgm_triconsistent(internal, int2, text, int4, internal, internal, internal),"
                " STORAGE int4")


def drop_operators(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP OPERATOR CLASS IF EXISTS {TRGM} USING gin")
        cursor.execute(f"DROP OPERATOR FAMILY IF EXISTS {TRGM} USING gin")
        cursor.execute(f"DROP OPERATOR CLASS IF EXISTS {NUM} USING btree")
        cursor.execute(f"DROP OPERATOR FAMILY IF EXISTS {NUM} USING btree")
        cursor.execute("DROP OPERATOR IF EXISTS #~~*# (text, text)")
        cursor.execute("DROP FUNCTION IF EXISTS ledger_ilike(text, text)")
        for op, _function, *_rest in NUMERIC_OPERATORS:
            cursor.execute(f"DROP OPERATOR IF EXISTS {op} (numeric, numeric)")
        for _op, function, *_rest in NUMERIC_OPERATORS:
            cursor.execute(f"DROP FUNCTION IF EXISTS ledger_{function.replace('numeric_', 'num_')}(numeric, numeric)")


def LeakproofOperators():  # noqa: N802 - reads as the migration operation it is
    return migrations.RunPython(create_operators, drop_operators, elidable=False)


def made_here(cursor, name: str) -> bool:
    """Whether index `name` can exist on this database: its operator class does."""
    _table, _method, columns = SEARCH_INDEXES[name]
    classes = {c.split()[1] for c in columns if " " in c}
    return all(_operator_class_exists(cursor, c) for c in classes)


def _rebuild(names):
    def forward(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
                if not made_here(cursor, name):
                    continue
                table, method, columns = SEARCH_INDEXES[name]
                cursor.execute(f"CREATE INDEX {name} ON {table} USING {method} ({', '.join(columns)})")
    return forward


def _back_to_upper(names):
    def backward(apps, schema_editor):
        for name in names:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        _create(tuple(n for n in names if n in _UPPER_INDEXES))(apps, schema_editor)
    return backward


def LeakproofSearchIndexes(*names):  # noqa: N802 - reads as the migration operation it is
    """Make (or remake, under the same name) these SEARCH_INDEXES on an app's own table."""
    return migrations.RunPython(_rebuild(names), _back_to_upper(names), elidable=False)


# --- the first trigram indexes (kept for the migrations that made them) ---------------------------

def _create(names):
    def forward(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            if not trigram_available(cursor):
                return
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name in names:
                table, expressions = _UPPER_INDEXES[name]
                columns = ", ".join(f"({e}) gin_trgm_ops" for e in expressions)
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({columns})")
    return forward


def _drop(names):
    def backward(apps, schema_editor):
        with schema_editor.connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
    return backward


def TrigramSearchIndexes(*names):  # noqa: N802 - reads as the migration operation it is
    return migrations.RunPython(_create(names), _drop(names), elidable=False)
