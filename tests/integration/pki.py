"""Certificates for the TLS tests, made by ``openssl`` in the test's directory: a CA, a
server certificate for etcd naming the addresses the tests use, a client certificate,
and a second CA that signed none of them (the wrong CA)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
SERVER_NAMES = "IP:127.0.0.1,IP:10.213.0.1,IP:10.213.0.2,IP:10.213.0.3,DNS:localhost"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(name: str, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", f"{name}.key", cwd=cwd)


def _ca(name: str, cwd: Path) -> None:
    _key(name, cwd)
    _openssl("req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.pem",
             "-days", "2", "-subj", f"/CN={name}", cwd=cwd)


def _signed(name: str, cn: str, extensions: str, cwd: Path) -> None:
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
             cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
             "-extfile", f"{name}.ext", cwd=cwd)


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    _ca("ca", directory)
    _ca("other-ca", directory)
    _signed("server", "etcd", f"subjectAltName={SERVER_NAMES}\n"
            "extendedKeyUsage=serverAuth,clientAuth\n", directory)
    # Not the name of an etcd user: with --client-cert-auth etcd would take a matching
    # certificate name as the user, and the password tests would prove nothing.
    _signed("client", "crg-agent", "extendedKeyUsage=clientAuth\n", directory)
    return Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key",
               directory / "client.pem", directory / "client.key", directory / "other-ca.pem")


def make_dated_client(pki: Pki, name: str, start: str, end: str) -> tuple[Path, Path]:
    """A client certificate and key signed by ``pki``'s CA, valid from ``start`` to ``end``
    (``YYYYMMDDHHMMSSZ``): ``openssl ca`` is the command of OpenSSL 3.0 that takes dates
    (``x509 -req`` only counts days from now)."""
    cwd = pki.ca.parent
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj",
             "/CN=crg-agent", cwd=cwd)
    (cwd / f"{name}.index").write_text("")
    (cwd / f"{name}.serial").write_text("01\n")
    (cwd / f"{name}.cnf").write_text(
        "[ca]\ndefault_ca = dated\n"
        f"[dated]\ndatabase = {name}.index\nserial = {name}.serial\nnew_certs_dir = .\n"
        "default_md = sha256\n"
        "policy = anything\nunique_subject = no\n"
        "[anything]\ncommonName = supplied\n"
        "[client]\nextendedKeyUsage = clientAuth\n")
    _openssl("ca", "-batch", "-config", f"{name}.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
             "-in", f"{name}.csr", "-out", f"{name}.pem", "-startdate", start, "-enddate", end,
             "-extensions", "client", "-notext", cwd=cwd)
    return cwd / f"{name}.pem", cwd / f"{name}.key"
