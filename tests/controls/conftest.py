import pytest

from tests.smtp import smtp_server_fixture

smtp_server = pytest.fixture(smtp_server_fixture)
