"""Push endpoints (domain/notify.py `check_push_endpoint`): the server POSTs to them, so only an
https URL on a public name passes (no SSRF to loopback, private or link-local hosts)."""

from __future__ import annotations

import pytest

from parley.domain.errors import Invalid
from parley.domain.notify import check_push_endpoint

pytestmark = pytest.mark.unit

PUBLIC = [
    "https://fcm.googleapis.com/fcm/send/abc:def",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QAbc",
    "https://wns2-db5p.notify.windows.com/w/?token=BQYAAA",
    "https://push.example.org:443/x",
    "https://xn--bcher-kva.example/x",
]

REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "https"),
    ("https://127.0.0.1:6379/", "port"),
    ("https://127.0.0.1/", "public_host"),
    ("https://10.0.0.5/x", "public_host"),
    ("https://192.168.1.1/x", "public_host"),
    ("https://169.254.169.254/latest", "public_host"),
    ("https://[::1]/x", "public_host"),
    ("https://[::ffff:127.0.0.1]/x", "public_host"),
    ("https://[fe80::1]/x", "public_host"),
    ("https://8.8.8.8/x", "public_host"),
    ("https://localhost/x", "public_host"),
    ("https://LOCALHOST./x", "public_host"),
    ("https://push.localhost/x", "public_host"),
    ("https://metadata.google.internal/x", "public_host"),
    ("https://printer.local/x", "public_host"),
    ("https://redis/x", "public_host"),
    ("https://2130706433/x", "public_host"),
    ("https://127.1/x", "public_host"),
    ("https://0x7f.0.0.1/x", "public_host"),
    ("https://0177.0.0.1/x", "public_host"),
    ("https://user:pw@push.example.org/x", "url"),
    ("https://push.example.org:8443/x", "port"),
    ("https://push.example.org:99999/x", "url"),
    ("https://１２７.０.０.１/x", "url"),
    ("https://push.example.org/\x00", "url"),
    ("https://push.example.org/a b", "url"),
    ("ftp://push.example.org/x", "https"),
    ("https:///x", "https"),
    ("https://-bad-.example/x", "public_host"),
]


@pytest.mark.parametrize("endpoint", PUBLIC)
def test_public_https_endpoints_pass(endpoint: str) -> None:
    assert check_push_endpoint(endpoint) == endpoint


@pytest.mark.parametrize(("endpoint", "rule"), REFUSED)
def test_endpoints_that_reach_inside_are_refused(endpoint: str, rule: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_push_endpoint(endpoint)
    assert refused.value.field == "endpoint"
    assert refused.value.rule == rule


def test_tests_may_use_a_local_http_push_service() -> None:
    assert check_push_endpoint("http://127.0.0.1:8123/push", allow_http=True)
    with pytest.raises(Invalid):
        check_push_endpoint("ftp://127.0.0.1/push", allow_http=True)
    with pytest.raises(Invalid):
        check_push_endpoint("http://127.0.0.1/\x00", allow_http=True)
