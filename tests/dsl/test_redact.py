"""Secrets in URLs are hidden wherever crg prints them (crg.dsl.redact): userinfo,
query string and fragment; scheme, host, port and path stay, so the URL is still
recognisable."""

from __future__ import annotations

import pytest

from crg.dsl.redact import redact, redact_data, redacted_offset, secret_spans


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


def test_offsets_follow_the_redaction() -> None:
    """A caret under a source line points at the same characters once its secrets are
    hidden: offsets before a secret stay, after it move by the change of length, inside
    it go to its ``***``."""
    line = 'alert webhook "http://u:pw@h/x?token=s3cr3t" every'
    shown = redact(line)
    assert shown == 'alert webhook "http://***@h/x?***" every'
    assert [line[a:b] for a, b in secret_spans(line)] == ["u:pw", "token=s3cr3t"]
    word = line.index("every")
    assert shown[redacted_offset(line, word):redacted_offset(line, len(line), end=True)] \
        == "every"
    url, url_end = line.index("http"), line.index('" every')
    assert shown[redacted_offset(line, url):redacted_offset(line, url_end, end=True)] \
        == "http://***@h/x?***"
    inside = line.index("pw")
    assert redacted_offset(line, inside) == shown.index("***")
    assert redacted_offset(line, inside + 1, end=True) == shown.index("***") + 3
    assert redacted_offset("no url", 3) == 3
