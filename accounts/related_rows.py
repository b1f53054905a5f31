"""Related rows a service has just written, kept on the object it returns, so that a caller that
answers with them (the API) does not read them back: `instance.<name>.all()` then gives these rows
without a query, exactly as after `prefetch_related(name)`, and filtering or ordering them still
queries the database."""

from collections.abc import Iterable

from django.db import models


def keep_related(instance: models.Model, name: str, rows: Iterable[models.Model]) -> None:
    queryset = getattr(instance, name).get_queryset()  # lazy: no query
    queryset._result_cache, queryset._prefetch_done = list(rows), True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = queryset


def has_kept(instance: models.Model, name: str) -> bool:
    return name in getattr(instance, "_prefetched_objects_cache", {})
