from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from mlcontest import accounts
from mlcontest.bench_views import one_query

urlpatterns = [
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("mlcontest.api.urls")),
    path("", include("mlcontest.protocol.urls")),
    path("", include("mlcontest.web.urls")),
    # Job pictures are small and few; the app serves them itself so that one command is enough.
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("__bench__/one-query/", one_query))
