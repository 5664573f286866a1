"""How an agent proves who it is to etcd, and which etcd it trusts: TLS files and a user
with a password (``--store etcds://...``, README, "etcd over TLS, with a password").

The password never comes from the command line (``ps`` shows every process's arguments
to every user): it is read from a file or an environment variable, kept in a
:class:`Secret` whose ``repr`` and ``str`` hide it, and handed to the etcd client only.
Every file is checked before anything starts, with the standard library's TLS code, so
that a wrong path or a key that does not belong to its certificate is an operator's
error (exit 2) naming the file, not a failed handshake later; so is a client certificate
out of its validity dates (the handshake would only say that it failed).

Every read is bounded (``--store-password-file /dev/zero`` grew the process until it
died): a password is a line of at most :data:`PASSWORD_MAX_BYTES`, a PEM file at most
:data:`PEM_MAX_BYTES`. The store reads the files again when etcd refuses the password or
a connection is dialled afresh (runtime/store/etcd.py): both are rotated in place.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crg.dsl.redact import redact

PASSWORD_ENV = "CRG_STORE_PASSWORD"
"""The environment variable a password may come from (``--store-password-file`` wins)."""

PASSWORD_MAX_BYTES = 4096
"""The longest password line read: far above any real one, and a file with no newline
(``/dev/zero``, a binary file given by mistake) is refused instead of read whole."""

PEM_MAX_BYTES = 1 << 20
"""The largest CA, certificate or key file read (a CA bundle of the system is ~200 KiB)."""


class Secret:
    """A string that does not show itself: not in a log line, a traceback's locals
    summary, an exception message or a dataclass's repr."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: Path | None = None) -> None:
        self._value = value
        self.source = source
        """The file it was read from, read again when etcd refuses it (None: the
        environment, which nobody can change in a running process)."""

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


TlsFiles = tuple[bytes | None, bytes | None, bytes | None]
"""The contents of the CA, client certificate and key files (None: not given)."""


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

    def tls_files(self, again: bool = False) -> TlsFiles:
        """The CA, certificate and key files' contents as they are now (None: not given);
        AccessError naming the file that cannot be read or is too large. ``again``: read
        from the running agent's loop, so only a regular file is read (see
        :func:`_read_head`)."""
        return (_read_pem("--store-ca", self.ca, again), _read_pem("--store-cert", self.cert,
                                                                   again),
                _read_pem("--store-key", self.key, again))


def _read_head(path: Path, limit: int, regular_only: bool) -> bytes:
    """At most ``limit`` + 1 bytes of ``path``. ``regular_only``: a file read again from
    the agent's event loop, where opening a named pipe would block it until a writer
    came (an agent frozen, its health endpoint and control socket silent): opened without
    blocking, and refused unless it is a regular file, judged on the open descriptor (a
    check of the path before opening could be raced by a swap)."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NONBLOCK if regular_only else 0)
    fd = os.open(path, flags)
    try:
        if regular_only and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "it is no longer a regular file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            return stream.read(limit + 1)
    finally:
        os.close(fd)


def _read_pem(flag: str, path: Path | None, again: bool = False) -> bytes | None:
    if path is None:
        return None
    try:
        data = _read_head(path, PEM_MAX_BYTES, regular_only=again)
    except OSError as exc:
        raise AccessError(f"{flag} {path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > PEM_MAX_BYTES:
        raise AccessError(f"{flag} {path}: larger than {PEM_MAX_BYTES // 1024} KiB, not a "
                          "PEM file")
    return data


def read_password(file: Path | None, environ: dict[str, str] | None = None, *,
                  again: bool = False) -> Secret | None:
    """The password from ``file`` (its first line), else from ``$CRG_STORE_PASSWORD``;
    None when neither gives one. AccessError when the file cannot be read, is empty, or
    its first line is longer than :data:`PASSWORD_MAX_BYTES` (at most that much is read,
    whatever the file). ``again``: read again by a running agent, a regular file only."""
    if file is not None:
        try:
            head = _read_head(file, PASSWORD_MAX_BYTES, regular_only=again)
            line, newline, _ = head.partition(b"\n")
            if not newline and len(head) > PASSWORD_MAX_BYTES:
                raise AccessError(f"--store-password-file {file}: its first line is longer "
                                  f"than {PASSWORD_MAX_BYTES} bytes; the password is the "
                                  "first line of the file (is it the right file?)")
            # Up to a newline: a whole line, whose last character cannot have been cut.
            text = line.decode("utf-8")
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
        # A pipe (/dev/stdin, <(pass show etcd)) is read once: emptied by this read.
        return Secret(lines[0], source=file if _regular_target(file) else None)
    value = (os.environ if environ is None else environ).get(PASSWORD_ENV)
    return Secret(value) if value else None


def read_password_again(secret: Secret) -> Secret | None:
    """``secret`` as its file says now, None when it cannot be read again: it came from
    the environment, or from a pipe (``/dev/stdin``, ``<(pass show etcd)``) that was
    emptied by the first read. AccessError as :func:`read_password`."""
    source = secret.source
    if source is None:
        return None
    return read_password(source, {}, again=True)


def _regular_target(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def validity(pem: bytes) -> tuple[datetime, datetime] | None:
    """When the first certificate of ``pem`` becomes valid and when it expires (UTC);
    None when that cannot be told (the TLS code checks the rest). A few lines of DER
    rather than a dependency: ``ssl`` only decodes certificates in a private function,
    and ``cryptography`` is not among crg's."""
    found = re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem,
                      re.DOTALL)
    if found is None:
        return None
    try:
        der = ssl.PEM_cert_to_DER_cert(found.group().decode("ascii"))
        # Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
        #   serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }...
        _, at, _ = _element(der, 0)  # into the certificate
        _, at, _ = _element(der, at)  # into tbsCertificate
        tag, _, _ = _element(der, at)
        for _ in range(4 if tag == 0xA0 else 3):  # [version,] serial, signature, issuer
            _, _, at = _element(der, at)
        _, at, _ = _element(der, at)  # into validity
        not_before, at = _time(der, at)
        not_after, _ = _time(der, at)
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return not_before, not_after


def _element(der: bytes, at: int) -> tuple[int, int, int]:
    """The DER element at ``at``: (tag, where its content starts, where it ends)."""
    tag, length, at = der[at], der[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4:
            raise ValueError("unsupported DER length")
        length, at = int.from_bytes(der[at:at + size], "big"), at + size
    if at + length > len(der):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _time(der: bytes, at: int) -> tuple[datetime, int]:
    """A certificate's UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ),
    the only forms RFC 5280 allows; and where the next element starts."""
    tag, start, end = _element(der, at)
    text = der[start:end].decode("ascii")
    if tag == 0x17 and len(text) == 13:
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18 or len(text) != 15:
        raise ValueError("not a certificate time")
    if not text.endswith("Z") or not text[:-1].isdigit():
        raise ValueError("not a certificate time")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC), end


def check_dates(cert: Path, pem: bytes, now: datetime | None = None) -> None:
    """AccessError when the client certificate ``cert`` (contents ``pem``) is not valid
    ``now``: the handshake would fail with etcd's vague "bad certificate", and crg's own
    question about the CA would send the operator after the wrong file."""
    dates = validity(pem)
    if dates is None:
        return
    now = now or datetime.now(UTC)
    not_before, not_after = dates
    if now > not_after:
        raise AccessError(f"--store-cert: the client certificate {cert} expired on "
                          f"{_date(not_after)}: give a valid one (a file replaced in place "
                          "is read again at the next connection)")
    if now < not_before:
        raise AccessError(f"--store-cert: the client certificate {cert} is not valid "
                          f"before {_date(not_before)} (is this host's clock right?)")


def _date(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def check(access: StoreAccess, again: bool = False) -> None:
    """AccessError when ``access`` cannot work, before any connection is tried (``again``:
    its files read again by a running agent, regular files only)."""
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
    # Bounded reads first: the TLS code would read a /dev/zero given by mistake forever.
    _, cert_pem, _ = access.tls_files(again)
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
        if cert_pem is not None:
            check_dates(access.cert, cert_pem)


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
