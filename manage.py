#!/usr/bin/env python
"""Django's command-line utility for Ledgerline."""
import os
import sys

# Schema changes need the database owner; everything else runs as the application role,
# which row-level security applies to (see ledger_site/database.py); the worker runs as its own role.
OWNER_COMMANDS = {"migrate", "makemigrations", "sqlmigrate", "showmigrations", "createcachetable"}
# The django-q2 worker has its own role: the application role's rights plus the task-queue tables.
WORKER_COMMANDS = {"qcluster", "qmonitor", "qinfo"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_site.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OWNER_COMMANDS:
        os.environ.setdefault("LEDGER_DB_AS_OWNER", "1")
    elif len(sys.argv) > 1 and sys.argv[1] in WORKER_COMMANDS:
        os.environ.setdefault("LEDGER_DB_AS_WORKER", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
