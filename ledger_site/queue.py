"""Queueing django-q2 tasks from the product's code.

django-q2's ORM broker calls close_old_connections() before it writes when the connection is in
autocommit mode (as it is in an on_commit callback); with CONN_MAX_AGE=0 that closes the
connection and with it the caller's tenant context (ledger_site.tenancy). Inside a transaction it
just inserts the task row. So every task is queued inside one: the caller's if there is one (the
task then exists exactly when the caller's work commits), else a short one of its own.

A hot path that writes in a statement of its own (issuing) can instead queue the task's row in
that statement (`SELECT ledger_task_enqueue(key, payload, lock)`): `task_row` builds it with
django-q2's own async_task, so the payload is exactly what the worker expects.

The application role has no privilege on django-q2's tables (issue 22 #9, accounts migration
0029): `NarrowORM` (Q_CLUSTER's broker_class) queues through `ledger_task_enqueue()`; everything
else the broker does runs in the worker, which connects as its own role (APP_WORKER_DB_USER).
"""

import logging
from dataclasses import dataclass

from django.db import connections, transaction
from django_q.brokers import Broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf

logger = logging.getLogger(__name__)

class NarrowORM(ORM):
    """django-q2's ORM broker, queueing through the one function the application role may call."""

    def enqueue(self, task):
        with connections[Conf.ORM].cursor() as cursor:
            cursor.execute("SELECT ledger_task_enqueue(%s, %s, NULL)", [self.list_key or Conf.CLUSTER_NAME, task])
            return cursor.fetchone()[0]


def schedule_once(name: str, func: str, args: tuple, next_run) -> int:
    """A one-off django-q2 schedule (a retry at `next_run`), through ledger_schedule_once()."""
    with connections[Conf.ORM].cursor() as cursor:
        cursor.execute("SELECT ledger_schedule_once(%s, %s, %s, %s)", [name, func, repr(args), next_run])
        return cursor.fetchone()[0]


def queue_health(func: str) -> tuple[int, int, object]:
    """(tasks queued, of them waiting for a worker, next run of `func`'s schedule or None)."""
    with connections[Conf.ORM].cursor() as cursor:
        cursor.execute("SELECT depth, waiting, next_run FROM ledger_queue_health(%s)", [func])
        return cursor.fetchone()


def recent_failures(prefix: str, limit: int = 10) -> list[dict]:
    """The latest failed tasks whose function starts with `prefix`: name and time only (a task's
    arguments and error text may concern another organization)."""
    with connections[Conf.ORM].cursor() as cursor:
        cursor.execute("SELECT func, stopped FROM ledger_task_failures(%s, %s)", [prefix, limit])
        return [{"func": func, "stopped": stopped} for func, stopped in cursor.fetchall()]


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
    """A row of the ORM broker's table: the queue's key and the signed task. Queue it with
    ledger_task_enqueue(key, payload, now()); the worker picks it up once that commits."""
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
