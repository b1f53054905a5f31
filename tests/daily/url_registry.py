"""How the URL × role matrix (tests/urlmatrix.py) builds issue 21's pages with arguments."""

from tests.urlmatrix import register_url

register_url("guide_topic", topic=lambda world: "payments")
