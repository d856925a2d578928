"""Sign in. The seed's client logs in by form POST and expects, on success, the redirect to
``/ok.json``; a script that sends ``api=1`` gets a JSON refusal on failure. (Signing out is
Django's own LogoutView, by POST only, so that another site cannot sign anyone out.)"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse

from mlcontest.http import error_response


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if self.request.POST.get("api"):
            return error_response(
                400,
                "login_failed",
                "Wrong username or password.",
                {"password": "wrong username or password"},
            )
        return super().form_invalid(form)
