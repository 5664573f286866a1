"""How an agent proves who it is to etcd, and which etcd it trusts: TLS files and a user
with a password (``--store etcds://...``, README, "etcd over TLS, with a password").

The password never comes from the command line (``ps`` shows every process's arguments
to every user): it is read from a file or an environment variable, kept in a
:class:`Secret` whose ``repr`` and ``str`` hide it, and handed to the etcd client only.
Every file is checked before anything starts, with the standard library's TLS code, so
that a wrong path or a key that does not belong to its certificate is an operator's
error (exit 2) naming the file, not a failed handshake later.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from crg.dsl.redact import redact

PASSWORD_ENV = "CRG_STORE_PASSWORD"
"""The environment variable a password may come from (``--store-password-file`` wins)."""


class Secret:
    """A string that does not show itself: not in a log line, a traceback's locals
    summary, an exception message or a dataclass's repr."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class AccessError(ValueError):
    """The TLS files or the credentials cannot be used (an operator's error)."""


@dataclass(frozen=True)
class StoreAccess:
    tls: bool = False
    """``etcds://``: talk TLS, and verify the server's certificate."""
    ca: Path | None = None
    """CA certificates (PEM) the server's certificate must chain to (None: the system's)."""
    cert: Path | None = None
    key: Path | None = None
    """A client certificate and its key (PEM), for etcd's ``--client-cert-auth``."""
    user: str | None = None
    password: Secret | None = None

    def ca_bytes(self) -> bytes | None:
        return self.ca.read_bytes() if self.ca is not None else None

    def cert_bytes(self) -> tuple[bytes, bytes] | None:
        if self.cert is None or self.key is None:
            return None
        return self.cert.read_bytes(), self.key.read_bytes()


def read_password(file: Path | None, environ: dict[str, str] | None = None) -> Secret | None:
    """The password from ``file`` (its first line), else from ``$CRG_STORE_PASSWORD``;
    None when neither gives one. AccessError when the file cannot be read or is empty."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            # A decoding error's own text quotes the offending byte: of the password.
            reason = ("it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError)
                      else exc.strerror or str(exc))
            raise AccessError(f"--store-password-file {file}: cannot read it: {reason}"
                              ) from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise AccessError(f"--store-password-file {file}: the file is empty (the "
                              "password is its first line)")
        return Secret(lines[0])
    value = (os.environ if environ is None else environ).get(PASSWORD_ENV)
    return Secret(value) if value else None


def check(access: StoreAccess) -> None:
    """AccessError when ``access`` cannot work, before any connection is tried."""
    if not access.tls and (access.ca or access.cert or access.key):
        raise AccessError("--store-ca, --store-cert and --store-key are for a TLS store: "
                          "write its URL as etcds://HOST:PORT,...")
    if (access.cert is None) != (access.key is None):
        raise AccessError("--store-cert and --store-key go together (a client certificate "
                          "and its private key)")
    if access.user is not None and access.password is None:
        raise AccessError(f"--store-user {access.user} needs a password: give "
                          f"--store-password-file FILE, or set the environment variable "
                          f"{PASSWORD_ENV}")
    if access.user is None and access.password is not None:
        raise AccessError("a store password without --store-user: name the etcd user too")
    context = ssl.create_default_context()
    if access.ca is not None:
        try:
            context.load_verify_locations(cafile=str(access.ca))
        except (OSError, ssl.SSLError) as exc:
            raise AccessError(f"--store-ca {access.ca}: not a readable PEM file of CA "
                              f"certificates ({_why(exc)})") from None
    if access.cert is not None and access.key is not None:
        try:
            # No passphrase prompt on a terminal: an encrypted key is an error here.
            context.load_cert_chain(str(access.cert), str(access.key), password="")
        except (OSError, ssl.SSLError) as exc:
            raise AccessError(f"--store-cert {access.cert} / --store-key {access.key}: not "
                              "a readable PEM certificate and the private key that belongs "
                              f"to it ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def redact_url(url: str) -> str:
    """``url`` with whatever a member carries before an ``@`` (a user and password
    someone wrote into it) replaced by ``***``, for messages: the one redaction of every
    output (:func:`crg.dsl.redact.redact`)."""
    return redact(url)
