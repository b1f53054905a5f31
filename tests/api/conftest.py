import pytest

from tests.api.helpers import Api, make_key
from tests.factories import make_org


@pytest.fixture
def api_shop(db):
    """An organization, its owner, a read-write key and a client that sends it."""
    org, owner = make_org()
    key, token = make_key(org, owner)

    class Shop:
        pass

    s = Shop()
    s.org, s.owner, s.key, s.token, s.api = org, owner, key, token, Api(token)
    return s
