"""Users, organizations (the tenants) and who belongs to which, with what role."""

import secrets
import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts import identity
from accounts.einvoice_ids import EAS_SCHEMES, validate_endpoint_id
from ledger_site.tenancy import current_organization

RESERVED_SLUGS = {"admin", "api", "app", "static", "media", "login", "logout", "signup", "o",
                  "settings", "www", "help", "support", "public", "new"}
slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1–50 lowercase letters, digits and hyphens, not starting or ending with a hyphen."),
)

# Credit control's overdue threshold where an organization has not chosen its own (accounts.credit_terms).
DEFAULT_CREDIT_OVERDUE_DAYS = 60
MAX_CREDIT_OVERDUE_DAYS = 3650


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValidationError(_("“%(tz)s” is not a time zone name such as Europe/Berlin.") % {"tz": value}) from e


def today_in(org=None, now: datetime | None = None) -> date:
    """Today in an organization: `org.today(now)`. Without `org`, the organization the current
    request or task acts for (ledger_site.tenancy); outside any, the server's date (TIME_ZONE).
    The one "today" of the application: pages, forms, defaults, the reminder scan."""
    if org is None:
        org = current_organization()
    if org is None:
        return timezone.localdate(now)
    return org.today(now)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # The interface language this person chose (ledger_site.language); blank: the site's default.
    language = models.CharField(_("interface language"), max_length=10, blank=True, default="")

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self):
        return self.full_name or self.email

    # The hash itself lives in the database's vault (accounts/identity.py); accounts_user.password
    # and this instance after save() hold only its public part (algorithm, parameters, salt).
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.password = identity.public_part(self.password)

    def check_password(self, raw_password):
        def setter(raw):
            self.set_password(raw)
            self._password = None
            self.save(update_fields=["password"])

        return identity.check_user_password(self, raw_password, setter)

    def get_session_auth_hash(self):
        # Over the public part: the salt changes with every new password, so sessions still end.
        return salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
                           identity.public_part(self.password), algorithm="sha256").hexdigest()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
                              identity.public_part(self.password), secret=fallback_secret,
                              algorithm="sha256").hexdigest()


class Organization(models.Model):
    """A business using Ledgerline: the tenant. Every tenant row points here."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("address"), max_length=50, unique=True, validators=[slug_validator])
    base_currency = models.CharField(_("base currency"), max_length=3, default="EUR")
    country = models.CharField(_("country"), max_length=2, blank=True)
    address = models.TextField(_("address"), blank=True, max_length=1000)
    tax_id = models.CharField(_("tax id"), max_length=50, blank=True)
    # Peppol electronic address (accounts.einvoice_ids): where e-invoices reach this organization.
    endpoint_scheme = models.CharField(_("e-invoice endpoint scheme"), max_length=4, blank=True,
                                       choices=EAS_SCHEMES)
    endpoint_id = models.CharField(_("e-invoice endpoint id"), max_length=50, blank=True,
                                   validators=[validate_endpoint_id])
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone],
                                help_text=_("IANA name, e.g. Europe/Berlin or America/New_York."))
    # Issue 22: members without two-factor sign-in are sent to set it up before entering.
    require_two_factor = models.BooleanField(_("require two-factor sign-in for every member"), default=False)
    # How people here write numbers and dates (accounts.locale): amounts typed into forms, amounts
    # and dates shown on pages, PDFs and e-mails. Machine exports keep plain numbers and ISO dates.
    locale = models.CharField(_("number and date format"), max_length=10, default="en_GB")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the ledger check (accounts verify_ledger's record_verification) when a check finds a
    # break, cleared by the next clean one: here so that the owners' banner on every page costs no
    # query (the tenancy middleware loads the organization with the membership).
    ledger_check_failed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Credit control flags a customer with invoices overdue by more than this many days: the
    # organization's customer-credit rule, read and changed through accounts.credit_terms
    # (`overdue_days`, `overdue_days_sql`, `set_overdue_days`); the report settings page edits it.
    credit_overdue_days = models.PositiveSmallIntegerField(
        _("credit control: flag invoices overdue by more than (days)"), default=DEFAULT_CREDIT_OVERDUE_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CREDIT_OVERDUE_DAYS)])

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Written in its own tenant context: row-level security shows a session only the
        organization it acts for (accounts migration 0029). A new one takes its id first."""
        from django.db import connection

        from ledger_site.tenancy import tenant_context

        if self.pk is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('accounts_organization', 'id'))")
                self.pk = cursor.fetchone()[0]
            kwargs["force_insert"] = True
        with tenant_context(self.pk):
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from ledger_site.tenancy import tenant_context

        with tenant_context(self.pk):
            return super().delete(*args, **kwargs)

    def refresh_from_db(self, *args, **kwargs):
        from ledger_site.tenancy import tenant_context

        with tenant_context(self.pk):
            return super().refresh_from_db(*args, **kwargs)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        """Today in this organization: the date on its wall clock at `now` (default: this instant).
        Every "today" of the application (overdue, due today, disputes, the reminder scan, report
        defaults) is this one, never the server's date."""
        return (now or timezone.now()).astimezone(self.zone).date()


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    FINANCE = "finance", _("Finance")
    VIEWER = "viewer", _("Viewer")

    @classmethod
    def rank(cls, role: str) -> int:
        return {cls.VIEWER: 1, cls.FINANCE: 2, cls.OWNER: 3}[role]


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"

    def has_role(self, role: str) -> bool:
        return Role.rank(self.role) >= Role.rank(role)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """An owner's invitation; the e-mailed link carries a signed, expiring token of its id and its
    random nonce, so a token cannot be made from ids alone, even by someone holding SECRET_KEY."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.FINANCE)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    nonce = models.CharField(max_length=40, default=new_nonce, editable=False)

    def __str__(self):
        return f"{self.email} → {self.organization_id} ({self.role})"

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None


class LoginAttempt(models.Model):
    """Failed sign-ins, counted per e-mail and per address to throttle guessing."""

    email = models.CharField(max_length=254, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip_address", "email", "at"], name="loginattempt_client_account")]

    def __str__(self):
        return f"{self.email} at {self.at:%Y-%m-%d %H:%M}"


class RateLimitEvent(models.Model):
    """One counted request for a rate limit (accounts.ratelimit): password-reset e-mails, public
    link views and the like, keyed by scope and what is limited (an address, a link and client)."""

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=300)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"], name="ratelimit_scope_key_at")]

    def __str__(self):
        return f"{self.scope}:{self.key} at {self.at:%Y-%m-%d %H:%M}"


class TwoFactor(models.Model):
    """A user's TOTP second factor (accounts.two_factor): the shared secret, the last time step
    accepted (a code works once) and the hashes of the unused recovery codes."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret = models.CharField(max_length=255)  # sealed (accounts.secret_box), never the key in clear
    confirmed_at = models.DateTimeField(default=timezone.now)
    last_step = models.BigIntegerField(default=0)
    recovery_hashes = models.JSONField(default=list)

    def __str__(self):
        return f"two-factor for {self.user}"


class SignInEvent(models.Model):
    """A successful sign-in (issue 22): shown to the person and to owners of organizations they
    belong to. Not a tenant row: a person's history spans organizations."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    two_factor = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["user", "-at"], name="accounts_signin_user_at")]

    def __str__(self):
        return f"{self.user} signed in at {self.at:%Y-%m-%d %H:%M} from {self.ip or '?'}"


class Passkey(models.Model):
    """A WebAuthn credential (accounts.passkeys): a second factor beside TOTP, kept per person like
    TwoFactor. The public key verifies each sign-in's signature; the signature counter, where the
    authenticator keeps one, must grow (a cloned authenticator shows an old count)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=60)
    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"passkey {self.name} of {self.user}"
