"""manage.py import_data KIND FILE --org SLUG [--mapping M.json] [--dry-run]

Checks the file (the dry run) and, unless --dry-run, imports it in one transaction, printing the
progress as it goes. Exit status 1 with the row report when anything is wrong; nothing is
imported then. The mapping file is JSON: {"mapping": {field: column}, "options": {"dates":
{column: format}, "decimal": {column: "," or "."}}}, or just the {field: column} object; without
it, columns named like the fields are used.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.imports import REGISTRY, get_importer, options_for
from accounts.imports.engine import MappingError, run, suggest_mapping
from accounts.imports.parsing import ImportFileError, open_table
from accounts.models import User
from accounts.org_directory import organization_for_slug
from ledger_site.tenancy import tenant_context


class Command(BaseCommand):
    help = "Import customers, invoices or payments from a CSV or XLSX file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(REGISTRY))
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--mapping", help="a JSON file mapping fields to columns")
        parser.add_argument("--dry-run", action="store_true", help="check only; import nothing")
        parser.add_argument("--encoding", help="utf-8, cp1252 or latin-1 (default: detected)")
        parser.add_argument("--delimiter", help="the CSV delimiter (default: detected)")
        parser.add_argument("--user", help="the e-mail of the person the import is recorded for")
        parser.add_argument("--books-start", help="YYYY-MM-DD: move the books start earlier to this day first "
                                                  "(history older than ten years; an owner's --user)")
        parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                            help="an option another app offers on this kind, e.g. "
                                 "hold_reminders_until=2027-01-31 (invoices, opening balances)")

    def handle(self, *args, kind, file, org, mapping=None, dry_run=False, encoding=None, delimiter=None,
               user=None, books_start=None, option=(), **options):
        organization = organization_for_slug(org)
        if organization is None:
            raise CommandError(f"No organization {org!r}.")
        actor = User.objects.filter(email=user).first() if user else None
        importer = get_importer(kind)
        try:
            table = open_table(Path(file).read_bytes(), file, encoding, delimiter)
        except (OSError, ImportFileError) as e:
            raise CommandError(str(e)) from e
        spec = json.loads(Path(mapping).read_text()) if mapping else {}
        columns = spec.get("mapping", spec) if "mapping" in spec else spec
        if not columns:
            columns = suggest_mapping(importer, table.headers)
        with tenant_context(organization, actor):
            try:
                run_options = dict(spec.get("options") or {})
                if books_start:
                    run_options["books_start"] = books_start
                for pair in option:
                    name, _sep, value = pair.partition("=")
                    if name not in {o.name for o in options_for(kind)}:
                        raise CommandError(f"No option {name!r} for {kind}.")
                    run_options[name] = value
                report = run(organization, importer, table, columns, run_options, actor=actor,
                             commit=not dry_run, progress=self._progress)
            except MappingError as e:
                raise CommandError(str(e)) from e
            except ImportFileError as e:
                raise CommandError(str(e)) from e
        self.stderr.write("")
        for e in report.errors:
            where = f"row {e.row}" if e.row else "file"
            self.stdout.write(f"{where}\t{e.column}\t{e.value}\t{e.message}")
        totals = ", ".join(f"{amount} {cur}" for cur, amount in sorted(report.totals.items())) or "nothing"
        self.stdout.write(f"{report.rows} rows, {report.records} records: {report.new} new ({totals}), "
                          f"{report.existing} already imported, {report.error_count} errors.")
        if not report.ok:
            self.stdout.write("Nothing was imported.")
            sys.exit(1)
        self.stdout.write("Dry run: nothing was imported." if dry_run else f"Imported: {report.written}.")

    def _progress(self, phase, done, total):
        if total:
            self.stderr.write(f"\r{phase}: {done}/{total} ({100 * done // total}%)", ending="")
        elif done:
            self.stderr.write(f"\r{phase}: {done} rows", ending="")
