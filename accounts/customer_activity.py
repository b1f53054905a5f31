"""Whether a customer has financial activity: then it may be archived but never deleted,
and its currency is fixed. Each financial app registers a check here."""

ACTIVITY_CHECKS = []  # callables(customer) -> bool


def has_financial_activity(customer) -> bool:
    return any(check(customer) for check in ACTIVITY_CHECKS)
