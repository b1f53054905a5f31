"""Calling the JSON API in tests: an organization's key and a client that sends it."""

import itertools
import json

from django.test import Client

from accounts.api_keys import create_api_key
from ledger_site.tenancy import tenant_context

_names = itertools.count(1)


def make_key(org, owner, scope="read_write"):
    """(the ApiKey row, its token)."""
    with tenant_context(org, owner):
        return create_api_key(org, f"key {next(_names)}", scope, actor=owner)


class Api:
    """A test client for /api/v1/ with a key; bodies are JSON."""

    def __init__(self, token, client=None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        kwargs = {"headers": {**self.headers, **(headers or {})}, "data": data, "content_type": "application/json"}
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, params=None, headers=None):
        return self.client.get(f"/api/v1{path}", params or {}, headers={**self.headers, **(headers or {})})

    def post(self, path, body=None, **kw):
        return self._call("post", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self._call("put", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self._call("patch", path, body, **kw)


def draft_body(customer_id, lines=None, **fields):
    return {"customer_id": customer_id,
            "lines": lines or [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}], **fields}


def payment_body(customer_id, amount, currency="EUR", **fields):
    from django.utils import timezone

    return {"customer_id": customer_id, "amount": amount, "currency": currency,
            "received_date": timezone.localdate().isoformat(), "method": "bank_transfer", **fields}
