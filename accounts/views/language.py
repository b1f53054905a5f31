"""A person's interface language (issue 17 item 6): the pages in German, French, Spanish or Hindi.

Stored on the user (User.language) and applied to every request by ledger_site.language. Documents,
e-mails and public pages keep their customer's language whatever this says.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Interface language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The site's default (%(name)s)") % {
            "name": dict(settings.LANGUAGES)[settings.LANGUAGE_CODE]}), *settings.LANGUAGES]


@login_required
def language_settings(request):
    form = LanguageForm(request.POST or None, initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        request.user.language = form.cleaned_data["language"]
        request.user.save(update_fields=["language"])

        with translation.override(request.user.language or settings.LANGUAGE_CODE):
            messages.success(request, _("Your interface language is saved."))
        return redirect("language_settings")
    return render(request, "accounts/language.html", {"form": form})
