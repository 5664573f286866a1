"""The TLS files and credentials of ``--store`` (runtime/store/access.py): where a
password may come from, that it never shows, and which mistakes are refused up front."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from crg.runtime.store.access import (
    PASSWORD_ENV,
    PASSWORD_MAX_BYTES,
    AccessError,
    Secret,
    StoreAccess,
    check,
    read_password,
    read_password_again,
    redact_url,
    validity,
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


def test_a_password_file_is_read_only_so_far(tmp_path: Path) -> None:
    """``--store-password-file /dev/zero`` (no newline, no end) was read whole: the
    process grew until a MemoryError ended it (exit 3). At most a line of 4 KiB is read;
    a longer one is refused, saying so."""
    started = time.monotonic()
    with pytest.raises(AccessError, match="longer than 4096 bytes") as refused:
        read_password(Path("/dev/zero"))
    assert time.monotonic() - started < 5
    assert "/dev/zero" in str(refused.value)
    file = tmp_path / "pw"
    file.write_bytes(b"x" * (PASSWORD_MAX_BYTES + 1))
    with pytest.raises(AccessError, match="longer than"):
        read_password(file)
    longest = "é" * (PASSWORD_MAX_BYTES // 2)  # two bytes each: exactly the limit
    file.write_text(longest + "\n" + "y" * 100_000)
    assert read_password(file) == Secret(longest)
    file.write_text("z" * PASSWORD_MAX_BYTES)  # no newline, at the limit: the whole file
    assert read_password(file) == Secret("z" * PASSWORD_MAX_BYTES)


def test_a_password_from_a_file_is_read_again_from_it(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("first\n")
    secret = read_password(file, {PASSWORD_ENV: "from-env"})
    assert secret is not None and secret.source == file
    file.write_text("second\n")
    assert read_password_again(secret) == Secret("second")
    file.write_text("")  # half written: said, and the caller keeps the old one
    with pytest.raises(AccessError, match="empty"):
        read_password_again(secret)
    # The environment cannot change under a running process: nothing to read again.
    from_env = read_password(None, {PASSWORD_ENV: "from-env"})
    assert from_env is not None and read_password_again(from_env) is None
    # A pipe was emptied by the first read (/dev/stdin, <(pass show etcd)): not read.
    read_end, write_end = os.pipe()
    os.write(write_end, b"from-a-pipe\n")
    os.close(write_end)
    try:
        piped = read_password(Path(f"/proc/self/fd/{read_end}"), {})
    finally:
        os.close(read_end)
    assert piped == Secret("from-a-pipe") and piped.source is None
    assert read_password_again(piped) is None


def test_a_file_swapped_for_a_pipe_or_a_folder_is_refused_without_waiting(
        tmp_path: Path) -> None:
    # Read again on the agent's event loop: opening a named pipe with no writer would
    # freeze the agent (health endpoint and control socket silent) until a signal came.
    file = tmp_path / "pw"
    file.write_text("first\n")
    secret = read_password(file, {})
    assert secret is not None and secret.source == file
    started = time.monotonic()
    file.unlink()
    os.mkfifo(file)
    with pytest.raises(AccessError, match="no longer a regular file"):
        read_password_again(secret)
    file.unlink()
    file.mkdir()
    with pytest.raises(AccessError, match="no longer a regular file"):
        read_password_again(secret)
    cert = tmp_path / "client.pem"
    os.mkfifo(cert)
    with pytest.raises(AccessError, match=r"--store-cert .*no longer a regular file"):
        StoreAccess(tls=True, cert=cert, key=cert).tls_files(again=True)
    assert time.monotonic() - started < 5


def test_tls_files_are_read_only_so_far(tmp_path: Path) -> None:
    """A /dev/zero given as a certificate is refused, not read for ever by the TLS code."""
    started = time.monotonic()
    with pytest.raises(AccessError, match="--store-cert /dev/zero: larger than"):
        check(StoreAccess(tls=True, cert=Path("/dev/zero"), key=Path("/dev/zero")))
    with pytest.raises(AccessError, match="--store-ca /dev/zero: larger than"):
        check(StoreAccess(tls=True, ca=Path("/dev/zero")))
    assert time.monotonic() - started < 5


def test_what_is_not_a_certificate_has_no_dates() -> None:
    assert validity(b"not a certificate") is None
    assert validity(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") is None
