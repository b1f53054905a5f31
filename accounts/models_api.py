"""API keys and the stored responses of idempotent API requests (ledger_site.api).

A key belongs to an organization, not to the person who made it: it acts for the organization
until an owner revokes it. Only a SHA-256 of its secret is stored; the secret is shown once.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_org import Organization


class ApiScope(models.TextChoices):
    READ = "read", _("Read")
    READ_WRITE = "read_write", _("Read and write")


class ApiKey(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=10, choices=ApiScope.choices, default=ApiScope.READ)
    # The first characters of the secret, to tell keys apart on the settings page.
    hint = models.CharField(max_length=40)
    secret_hash = models.CharField(max_length=64)  # hex SHA-256 of the secret
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Rate limit: requests counted in the fixed window that started at window_start.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], condition=models.Q(revoked_at__isnull=True),
                                    name="apikey_live_name_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.scope})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiScope.READ_WRITE


class IdempotentRequest(models.Model):
    """The first response to an API request that carried an `Idempotency-Key`: a retry with the
    same key and body gets it again; another body with the key gets 409. The row is inserted in
    the request's transaction before the work, so a concurrent duplicate waits on the unique
    index until the first commits (and then replays it) or rolls back (and then does the work)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # SHA-256 of method, path and canonical body
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotent_request_key_unique"),
        ]

    def __str__(self):
        return f"{self.key} → {self.status_code}"
