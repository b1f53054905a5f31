"""The URL matrix refuses a name registered twice (it used to replace the first silently, which
hid one app's object behind another's and left its URLs tested with the wrong object)."""

import pytest

from tests import urlmatrix


def test_an_object_or_url_registered_twice_is_refused(monkeypatch):
    monkeypatch.setattr(urlmatrix, "OBJECTS", {})
    monkeypatch.setattr(urlmatrix, "URLS", {})

    def first(world):
        return None

    def second(world):
        return None

    urlmatrix.register_object("bank_account")(first)
    urlmatrix.register_object("bank_account")(first)  # the same factory again (a re-import) is fine
    with pytest.raises(ValueError, match="registered twice"):
        urlmatrix.register_object("bank_account")(second)
    urlmatrix.register_url("customer_list")
    with pytest.raises(ValueError, match="registered twice"):
        urlmatrix.register_url("customer_list")
    assert {"bank_account": first} == urlmatrix.OBJECTS
