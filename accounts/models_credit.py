"""Credit-terms proposals (issue 13, controls): a finance user proposes a customer's credit limit
and payment terms, an owner approves or rejects; only approval changes the customer
(accounts.credit_terms)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models_customer import Customer
from accounts.models_org import Organization

AMOUNT = {"max_digits": 18, "decimal_places": 2}


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an owner")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class CreditTermsProposal(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_proposals")
    # What the customer had when proposed, and what is proposed (both, so the log reads alone).
    old_credit_limit = models.DecimalField(**AMOUNT)
    old_payment_terms_days = models.PositiveSmallIntegerField()
    credit_limit = models.DecimalField(_("credit limit"), **AMOUNT)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    reason = models.TextField(_("why"), max_length=1000)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    decided_at = models.DateTimeField(null=True)
    decision_note = models.TextField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            # One open question per customer at a time: an owner never approves a stale twin.
            models.UniqueConstraint(fields=["organization", "customer"], condition=models.Q(status="pending"),
                                    name="credit_proposal_one_pending"),
            models.CheckConstraint(name="credit_proposal_decided",
                                   condition=models.Q(status="pending", decided_at__isnull=True)
                                   | models.Q(~models.Q(status="pending"), decided_at__isnull=False)),
            models.CheckConstraint(name="credit_proposal_rejection_has_note",
                                   condition=~models.Q(status="rejected") | ~models.Q(decision_note="")),
        ]
        indexes = [models.Index(fields=["organization", "status", "-proposed_at"], name="credit_proposal_by_status")]

    def __str__(self):
        return f"credit terms of {self.customer_id}: {self.credit_limit} / {self.payment_terms_days} days"
