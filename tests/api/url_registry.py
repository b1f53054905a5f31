"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the API keys pages."""

from accounts.api_keys import create_api_key
from tests.urlmatrix import register_object, register_url


@register_object("api_key")
def _api_key(world):
    return create_api_key(world.org, "Matrix key", "read", actor=world.owner)[0]


register_url("api_key_list", post=lambda world: {"name": "Shop", "scope": "read"})
register_url("api_key_revoke", pk="api_key")
