from accounts.models_customer import Customer
from accounts.models_org import (
    Invitation,
    LoginAttempt,
    Membership,
    Organization,
    RateLimitEvent,
    Role,
    TwoFactor,
    User,
)

__all__ = ["Customer", "Invitation", "LoginAttempt", "Membership", "Organization", "RateLimitEvent", "Role",
           "TwoFactor", "User"]
from accounts.models_ledger import (  # noqa: E402
    Account,
    AccountDayTotal,
    AccountType,
    CustomerBalance,
    JournalEntry,
    JournalLine,
    LedgerHead,
)

__all__ += ["Account", "AccountDayTotal", "AccountType", "CustomerBalance", "JournalEntry", "JournalLine",
            "LedgerHead"]
