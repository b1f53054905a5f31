"""Saved filters (issue 21, "Lists"): a named view of a list (its filters and sort, as the query
string the list reads) kept for the person who saved it, or shared with the whole organization."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_org import Organization


class SavedFilter(models.Model):
    # Each list that offers saved filters: its key here and its URL name.
    LISTS = {"invoices": "invoice_list", "payments": "payment_list", "customers": "customer_list"}

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    list_name = models.CharField(max_length=20, choices=[(k, k) for k in LISTS])
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(max_length=1000, blank=True)
    shared = models.BooleanField(_("share with the organization"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["organization", "user", "list_name", "name"],
                                               name="saved_filter_unique_name")]
        indexes = [models.Index(fields=["organization", "list_name"], name="saved_filter_by_list")]

    def __str__(self):
        return f"{self.list_name}: {self.name}"
