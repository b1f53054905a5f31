"""The credit-terms pages (accounts.views.credit_terms) in the URL × role matrix."""

from tests.urlmatrix import register_object, register_url


@register_object("credit_customer")
def _credit_customer(world):
    from tests.factories import CustomerFactory

    return CustomerFactory(organization=world.org, name="Credit Customer", code="CREDIT")


@register_object("credit_proposal")
def _credit_proposal(world):
    from accounts import credit_terms
    from tests.factories import CustomerFactory

    customer = CustomerFactory(organization=world.org, name="Proposal Customer", code="PROPOSAL")
    return credit_terms.propose(customer, actor=world.finance, credit_limit="5000", payment_terms_days=45,
                                reason="matrix")


register_url("credit_terms", pk="credit_customer",
             post=lambda w: {"credit_limit": "4321.00", "payment_terms_days": "21", "reason": "matrix"})
register_url("credit_terms_decide", pk=lambda w: w.get("credit_proposal").customer_id, proposal_pk="credit_proposal",
             post=lambda w: {"action": "reject", "note": "matrix"})
register_url("credit_terms_pending")
