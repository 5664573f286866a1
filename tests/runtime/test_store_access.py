"""The TLS files and credentials of ``--store`` (runtime/store/access.py): where a
password may come from, that it never shows, and which mistakes are refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from crg.runtime.store.access import (
    PASSWORD_ENV,
    AccessError,
    Secret,
    StoreAccess,
    check,
    read_password,
    redact_url,
)


def test_a_secret_does_not_show_itself() -> None:
    secret = Secret("hunter2")
    assert secret.reveal() == "hunter2"
    for shown in (repr(secret), str(secret), f"{secret}", repr(StoreAccess(password=secret))):
        assert "hunter2" not in shown


def test_the_password_comes_from_a_file_first_then_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("from-file\nignored second line\n")
    env = {PASSWORD_ENV: "from-env"}
    assert read_password(file, env) == Secret("from-file")
    assert read_password(None, env) == Secret("from-env")
    assert read_password(None, {}) is None
    assert read_password(None, {PASSWORD_ENV: ""}) is None
    file.write_text("\n")
    with pytest.raises(AccessError, match="the file is empty"):
        read_password(file, env)
    with pytest.raises(AccessError, match="No such file"):
        read_password(tmp_path / "missing", env)
    file.write_bytes(b"pass\xe9word\n")  # Latin-1: the message must not quote its byte
    with pytest.raises(AccessError, match="not UTF-8 text") as refused:
        read_password(file, env)
    assert "xe9" not in str(refused.value) and "position" not in str(refused.value)


def test_mistakes_are_refused_before_connecting(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = [
        (StoreAccess(ca=junk), "for a TLS store"),
        (StoreAccess(tls=True, cert=junk), "go together"),
        (StoreAccess(tls=True, user="crg"), "--store-user crg needs a password"),
        (StoreAccess(tls=True, password=Secret("x")), "without --store-user"),
        (StoreAccess(tls=True, ca=junk), f"--store-ca {junk}: not a readable PEM"),
        (StoreAccess(tls=True, ca=tmp_path / "nope"), "--store-ca"),
        (StoreAccess(tls=True, cert=junk, key=junk), "--store-cert"),
    ]
    for access, message in cases:
        with pytest.raises(AccessError, match=message):
            check(access)
    check(StoreAccess(tls=True))  # the system's CAs, no client certificate, no user
    check(StoreAccess(user="crg", password=Secret("x")))  # allowed (with a warning)


def test_urls_lose_their_credentials_in_messages() -> None:
    assert redact_url("etcds://crg:pw@h1:2379,h2") == "etcds://***@h1:2379,h2"
    assert redact_url("etcd://h1,u:p@h2") == "etcd://h1,***@h2"
    assert redact_url("etcd://h1:2379") == "etcd://h1:2379"
