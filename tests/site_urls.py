"""Every URL pattern outside /o/<org_slug>/, classified for the URL sweep (tests/test_url_sweep.py).

The sweep walks the resolver like the URL matrix does. Patterns under api/ and p/ are classified by
their prefix; every other pattern must be listed here, or the sweep fails naming it. Kinds:

- PUBLIC: anyone may open it (sign-in, sign-up, password reset steps);
- SIGNED_IN: a signed-in person's own pages (not an organization's): anonymous -> sign-in;
- TOKEN: opened with a secret from an e-mail or a link; the sweep tries forged tokens;
- API: the JSON API (an API key, never the session).

`statuses` overrides the GET statuses accepted for the signed-in roles (e.g. a page that redirects).
Another app's non-org pages can be added from its tests/<app>/url_registry.py:

    from tests.site_urls import SIGNED_IN, register_site_url
    register_site_url("my_page", SIGNED_IN)
"""

from dataclasses import dataclass, field

PUBLIC, SIGNED_IN, TOKEN, API = "public", "signed in", "token", "api"


@dataclass
class SiteUrl:
    kind: str
    kwargs: dict = field(default_factory=dict)
    statuses: tuple[int, ...] = ()


SITE_URLS: dict[str, SiteUrl] = {}

# A forged value for each kind of path argument: well-formed, signed with nothing.
FORGED = {"token": "eyJpIjoxLCJvIjoxfQ:1vAbCd:forgedsignature", "uidb64": "MQ", "customer_id": "1",
          "invoice_id": "1", "credit_note_id": "1", "payment_id": "1"}


def register_site_url(name: str, kind: str, *, statuses=(), **kwargs):
    if name in SITE_URLS:
        raise ValueError(f"site URL {name!r} is registered twice")
    SITE_URLS[name] = SiteUrl(kind, kwargs, tuple(statuses))


def classify(route: str, name: str | None) -> SiteUrl | None:
    if name in SITE_URLS:
        return SITE_URLS[name]
    if route.startswith("api/"):
        return SiteUrl(API)
    if route.startswith("p/"):
        return SiteUrl(TOKEN)
    return None


# home: the signed-in person's organization (or the sign-in page); the rest as named.
register_site_url("home", PUBLIC, statuses=(200, 302))
register_site_url("signup", PUBLIC, statuses=(200, 302))
register_site_url("login", PUBLIC, statuses=(200, 302))
register_site_url("logout", PUBLIC, statuses=(200, 302, 405))
register_site_url("login_two_factor", PUBLIC, statuses=(302,))  # without a pending sign-in: back to sign-in
register_site_url("password_reset", PUBLIC)
register_site_url("password_reset_done", PUBLIC)
register_site_url("password_reset_complete", PUBLIC)
register_site_url("password_reset_confirm", TOKEN, statuses=(200,))  # Django's "invalid link" page
register_site_url("invitation_accept", TOKEN)
register_site_url("two_factor_settings", SIGNED_IN)
# Passkeys (accounts/passkeys.py): POST-only JSON steps; the sign-in ones need a pending sign-in.
register_site_url("login_passkey_options", PUBLIC, statuses=(405,))
register_site_url("login_passkey", PUBLIC, statuses=(405,))
register_site_url("passkey_options", SIGNED_IN, statuses=(405,))
register_site_url("passkey_add", SIGNED_IN, statuses=(405,))
register_site_url("passkey_remove", SIGNED_IN, statuses=(405,), pk="1")
register_site_url("my_sign_ins", SIGNED_IN)
register_site_url("language_settings", SIGNED_IN)
register_site_url("org_create", SIGNED_IN)
register_site_url("api:api-root", API, statuses=(404,))  # ninja's root: nothing there
register_site_url("organizations_overview", SIGNED_IN)  # issue 20: the overview across organizations
