"""The interface language of a request (issue 17 item 6).

A signed-in user's chosen language (User.language, set on /account/language/), else the site's
LANGUAGE_CODE. Not the browser's Accept-Language: a page looks the same for everyone who chose the
same language. Public pages (a customer's link, the portal) are rendered in the customer's
language by their views (accounts.locale.in_language), whatever the visitor's setting.

The user's language changes the texts only: amounts and dates on pages keep the organization's
number and date format (accounts.locale.interface_language).
"""

from django.conf import settings
from django.utils import translation

from accounts.locale import interface_language, supported_language


def user_language(user) -> str:
    if getattr(user, "is_authenticated", False):
        chosen = supported_language(getattr(user, "language", ""))
        if chosen:
            return chosen.split("-")[0]
    return settings.LANGUAGE_CODE


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = user_language(getattr(request, "user", None))
        with interface_language(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", language)
        return response
