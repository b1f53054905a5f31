from accounts.models_customer import Customer
from accounts.models_org import (
    Invitation,
    LoginAttempt,
    Membership,
    Organization,
    Passkey,
    RateLimitEvent,
    Role,
    SignInEvent,
    TwoFactor,
    User,
)

__all__ = ["Customer", "Invitation", "LoginAttempt", "Membership", "Organization", "Passkey", "RateLimitEvent", "Role",
           "SignInEvent", "TwoFactor", "User"]
from accounts.models_ledger import (  # noqa: E402
    Account,
    AccountDayTotal,
    AccountType,
    CustomerBalance,
    JournalEntry,
    JournalLine,
    LedgerHead,
    PeriodLockEvent,
    SealRecord,
    VerificationRun,
)

__all__ += ["Account", "AccountDayTotal", "AccountType", "CustomerBalance", "JournalEntry", "JournalLine",
            "LedgerHead", "PeriodLockEvent", "SealRecord", "VerificationRun"]
from accounts.models_audit import AuditEvent  # noqa: E402

__all__ += ["AuditEvent"]
from accounts.models_import import ImportJob, ImportMapping, ImportStatus  # noqa: E402

__all__ += ["ImportJob", "ImportMapping", "ImportStatus"]
from accounts.models_api import ApiKey, ApiScope, IdempotentRequest  # noqa: E402

__all__ += ["ApiKey", "ApiScope", "IdempotentRequest"]
from accounts.models_credit import CreditTermsProposal, ProposalStatus  # noqa: E402

__all__ += ["CreditTermsProposal", "ProposalStatus"]
from accounts.models_notice import ChangeNotice  # noqa: E402

__all__ += ["ChangeNotice"]
from accounts.models_fx import ExchangeRate, RateSource, RevaluationLine  # noqa: E402

__all__ += ["ExchangeRate", "RateSource", "RevaluationLine"]
from accounts.models_saved import SavedFilter  # noqa: E402

__all__ += ["SavedFilter"]
