"""Queueing django-q2 tasks from the product's code.

django-q2's ORM broker calls close_old_connections() before it writes when the connection is in
autocommit mode (as it is in an on_commit callback); with CONN_MAX_AGE=0 that closes the
connection and with it the caller's tenant context (ledger_site.tenancy). Inside a transaction it
just inserts the task row. So every task is queued inside one: the caller's if there is one (the
task then exists exactly when the caller's work commits), else a short one of its own.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(func: str, *args, task_name: str, group: str) -> bool:
    """Queue `func(*args)`; False (logged) if it could not be queued."""
    from django_q.tasks import async_task

    try:
        with transaction.atomic(savepoint=False):
            async_task(func, *args, task_name=task_name, group=group)
    except Exception:
        logger.exception("could not queue %s %s", func, args)
        return False
    return True
