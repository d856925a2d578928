"""Which language a request is answered in.

Pages follow the visitor: the switch on every page (Django's ``set_language``, which sets the
``django_language`` cookie) first, then the browser's Accept-Language, then English. The JSON
answers of the API and the seed protocol stay English whatever the request says: they are read
by programs, whose authors match on the ``code`` and print the ``message``, and one language
there keeps scripts, logs and the seed's clients the same for everyone.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from mlcontest.http.endpoints import speaks_json


class PageLocaleMiddleware(LocaleMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return cast(HttpResponseBase, super().__call__(request))  # sync only
        finally:
            # Django leaves the request's language active in the thread: the next request's
            # outer middleware, or code run outside a request, would speak German after a
            # German page. The response is rendered by now (streamed CSVs hold no words).
            translation.deactivate()

    def process_request(self, request: HttpRequest) -> None:
        if speaks_json(request):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if speaks_json(request):
            return response  # the same English answer whatever the headers: no Vary
        return super().process_response(request, response)
