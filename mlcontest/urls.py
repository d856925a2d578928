from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mlcontest.http.metrics import metrics
from mlcontest.web import accounts
from mlcontest.web.bench import one_query

# The admin's sign-in counts attempts against the same limits as every other sign-in.
admin.site.login_form = accounts.ThrottledAdminAuthenticationForm

urlpatterns = [
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The language switch on every page posts to /i18n/setlang/ (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("mlcontest.api.urls")),
    path("metrics", metrics, name="metrics"),  # Prometheus (organizers or the metrics token)
    path("", include("mlcontest.protocol.urls")),
    path("", include("mlcontest.web.urls")),
]

if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("__bench__/one-query/", one_query))

# Errors of the API and the seed's actions as the JSON error body, of pages as HTML.
handler400 = "mlcontest.http.guards.bad_request"
handler403 = "mlcontest.http.guards.permission_denied"
handler404 = "mlcontest.http.guards.not_found"
handler500 = "mlcontest.http.guards.server_error"
