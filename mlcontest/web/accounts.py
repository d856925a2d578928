"""Sign in. The seed's client logs in by form POST and expects, on success, the redirect to
``/ok.json``; a script that sends ``api=1`` gets a JSON refusal on failure. (Signing out is
Django's own LogoutView, by POST only, so that another site cannot sign anyone out.)

Every form that checks a password (this page and the admin's) counts its attempts through
``contest/login_throttle.py``; a throttled script gets 429 with ``Retry-After``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.utils import translation

from mlcontest.contest import login_throttle
from mlcontest.core.public_url import client_address
from mlcontest.http.endpoints import error_response


class ThrottledAuthenticationForm(AuthenticationForm):
    """Counts each password check; refuses every check (the right password too) while the
    name or the address is locked out."""

    throttled: login_throttle.LoginThrottled | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()
        address = client_address(self.request) if self.request is not None else None
        try:
            attempt = login_throttle.begin(username, address)
        except login_throttle.LoginThrottled as throttled:
            self.throttled = throttled
            raise forms.ValidationError(throttled.message, code="throttled") from None
        cleaned = super().clean()  # a wrong password raises, and the attempt stays counted
        login_throttle.succeeded(attempt)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's sign-in (staff only) with the same counting."""


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        throttled = getattr(form, "throttled", None)
        response: HttpResponse
        if self.request.POST.get("api"):
            if throttled is not None:
                locked = {"username": "too many failed sign-ins"} if throttled.by == "name" else {}
                with translation.override("en"):  # a script's answer is English, as the API's
                    english = login_throttle.LoginThrottled(throttled.by, throttled.retry_after)
                response = error_response(429, "login_throttled", english.message, locked)
            else:
                response = error_response(
                    400,
                    "login_failed",
                    "Wrong username or password.",
                    {"password": "wrong username or password"},
                )
        else:
            response = super().form_invalid(form)
            if throttled is not None:
                response.status_code = 429
        if throttled is not None:
            response["Retry-After"] = str(throttled.retry_after)
        return response
