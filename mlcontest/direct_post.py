"""JSON posts straight through urllib3: the one request a worker makes per job.

requests prepares every call anew (it merges the session's settings, runs the cookie policy,
rebuilds the URL and headers, dispatches hooks): measured here, twice the client CPU of the
same POST sent by urllib3 alone, about half a millisecond more per job on each worker. So a
client posts its JSON bodies this way: the session's own headers and cookies go out on a
urllib3 connection pool, and the answer comes back as a ``requests.Response``, with any cookie
it sets stored in the session, so that the caller cannot tell the difference.

Only plain-HTTP servers reached without a proxy take this path; for HTTPS or through a proxy
``serves`` is False and the client sends through requests as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from requests.cookies import extract_cookies_to_jar, get_cookie_header
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ReadTimeoutError,
)


class DirectPoster:
    """POSTs to ``host`` through one urllib3 pool, with ``session``'s headers and cookies."""

    def __init__(self, session: requests.Session, host: str) -> None:
        self.session = session
        address = urlsplit(host)
        self.netloc = address.netloc
        self.pool: urllib3.HTTPConnectionPool | None = None
        if address.scheme == "http" and address.hostname and not session.proxies:
            self.pool = urllib3.HTTPConnectionPool(address.hostname, address.port or 80, maxsize=2)

    def serves(self, url: str) -> bool:
        """Whether ``url`` can be posted to this way: plain HTTP to the client's own server."""
        if self.pool is None:
            return False
        address = urlsplit(url)
        return address.scheme == "http" and address.netloc == self.netloc

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> requests.Response:
        """The answer to ``POST url``; requests' exceptions for connection failures."""
        assert self.pool is not None and self.serves(url), f"{url} is not for a DirectPoster"
        request = requests.PreparedRequest()
        request.method, request.url, request.body = "POST", url, body
        request.headers = CaseInsensitiveDict(
            {name: _text(value) for name, value in self.session.headers.items()}
        )
        request.headers.update(headers)
        request.headers["Content-Length"] = str(len(body))
        cookies = get_cookie_header(self.session.cookies, request)
        if cookies:
            request.headers["Cookie"] = cookies
        address = urlsplit(url)
        target = address.path + (f"?{address.query}" if address.query else "")
        try:
            raw = self.pool.urlopen(
                "POST",
                target,
                body=body,
                headers=dict(request.headers),
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        except NewConnectionError as error:  # before ConnectTimeoutError: it is one
            raise requests.ConnectionError(error, request=request) from error
        except ConnectTimeoutError as error:
            raise requests.ConnectTimeout(error, request=request) from error
        except ReadTimeoutError as error:
            raise requests.ReadTimeout(error, request=request) from error
        except urllib3.exceptions.HTTPError as error:
            raise requests.ConnectionError(error, request=request) from error
        adapter = self.session.get_adapter(url)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        response = adapter.build_response(request, raw)
        extract_cookies_to_jar(self.session.cookies, request, raw)
        # Read the body now, as requests does, which hands the connection back to the pool
        # (requests turns a broken read into its own exceptions).
        response.content  # noqa: B018
        return response


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
