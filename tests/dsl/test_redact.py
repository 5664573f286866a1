"""Secrets in URLs are hidden wherever crg prints them (crg.dsl.redact): userinfo,
query string and fragment; scheme, host, port and path stay, so the URL is still
recognisable."""

from __future__ import annotations

import pytest

from crg.dsl.redact import redact, redact_data


@pytest.mark.parametrize(("text", "shown"), [
    ("https://user:s3cret@hooks.example.com/a/b?token=abc#frag",
     "https://***@hooks.example.com/a/b?***#***"),
    ("http://127.0.0.1:8080/hook/web", "http://127.0.0.1:8080/hook/web"),
    ("webhook http://u@h/x?k=v: HTTP 500 after 3 attempt(s)",
     "webhook http://***@h/x?***: HTTP 500 after 3 attempt(s)"),
    ("http://[fd13::5]:8080/?secret=1", "http://[fd13::5]:8080/?***"),
    ("two: http://a:b@x/ and https://y/?q=1 end", "two: http://***@x/ and https://y/?*** end"),
    ("'http://a:b@x/?t=1' (quoted)", "'http://***@x/?***' (quoted)"),
    ("curl -d @file https://h/p?token=x", "curl -d @file https://h/p?***"),
    ("http://{vip}:8080/?key={group}", "http://{vip}:8080/?***"),
    ("no url at all: user@example.com?x", "no url at all: user@example.com?x"),
    ("", ""),
    ("etcds://crg:pw@h1:2379,h2", "etcds://***@h1:2379,h2"),  # a store URL: every member
    ("etcd://h1,u:p@h2", "etcd://h1,***@h2"),
    ("--store etcd://a:b@10.0.0.1:2379,c:d@10.0.0.2:2379: unreachable",
     "--store etcd://***@10.0.0.1:2379,***@10.0.0.2:2379: unreachable"),
])
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert redact(shown) == shown, "redacting twice changes nothing"


def test_redact_data_reaches_every_string() -> None:
    record = {"event": "alert-failed", "detail": "webhook https://u:p@h/?t=1: refused",
              "hooks": [{"detail": "http://x/?token=2"}], "seq": 3, "ok": False,
              "nested": ("http://a:b@c/",)}
    assert redact_data(record) == {
        "event": "alert-failed", "detail": "webhook https://***@h/?***: refused",
        "hooks": [{"detail": "http://x/?***"}], "seq": 3, "ok": False,
        "nested": ["http://***@c/"]}
