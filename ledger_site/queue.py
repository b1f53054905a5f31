"""Queueing django-q2 tasks from the product's code.

django-q2's ORM broker calls close_old_connections() before it writes when the connection is in
autocommit mode (as it is in an on_commit callback); with CONN_MAX_AGE=0 that closes the
connection and with it the caller's tenant context (ledger_site.tenancy). Inside a transaction it
just inserts the task row. So every task is queued inside one: the caller's if there is one (the
task then exists exactly when the caller's work commits), else a short one of its own.

A hot path that writes in a statement of its own (issuing) can instead insert the task's row into
the broker's table itself: `task_row` builds it with django-q2's own async_task, so the payload
is exactly what the worker expects.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django_q.brokers import Broker
from django_q.models import OrmQ

logger = logging.getLogger(__name__)

TASK_TABLE = OrmQ._meta.db_table


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


@dataclass
class TaskRow:
    """A row of the ORM broker's table (TASK_TABLE): the queue's key and the signed task. Insert
    it with lock = now(), as the broker does; the worker picks it up once the insert commits."""
    key: str
    payload: str


class _Capture(Broker):
    """A broker that keeps the package async_task hands it instead of storing it."""

    def get_connection(self, list_key: str = None):
        return None

    def enqueue(self, task):
        self.package = task
        return None


def task_row(func: str, *args, task_name: str, group: str) -> TaskRow:
    from django_q.tasks import async_task

    broker = _Capture()
    async_task(func, *args, task_name=task_name, group=group, broker=broker)
    return TaskRow(broker.list_key, broker.package)
