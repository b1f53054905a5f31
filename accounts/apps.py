from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations, people, customers and the ledger"

    def ready(self):
        from accounts import signals  # noqa: F401
