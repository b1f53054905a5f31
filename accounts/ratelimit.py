"""A small database-backed rate limit: at most `limit` events per (scope, key) in a sliding window.

Counted in PostgreSQL (one table, RateLimitEvent), so every web process and worker agrees; a
transaction-level advisory lock on (scope, key) makes check-and-count atomic under concurrency.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import RateLimitEvent


def hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event; False (and nothing counted) when the limit is already reached."""
    key = key[:300]
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"ratelimit:{scope}:{key}"])
        events = RateLimitEvent.objects.filter(scope=scope, key=key)
        events.filter(at__lt=now - timedelta(seconds=window_seconds)).delete()
        if events.count() >= limit:
            return False
        RateLimitEvent.objects.create(scope=scope, key=key, at=now)
        return True
