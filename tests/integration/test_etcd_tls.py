"""etcd over TLS with a password (``--store etcds://...``), against a real etcd started
here with certificates made here (tests/integration/pki.py): client certificates
required (``--client-cert-auth``) and authentication enabled, with a user allowed only
under /crg/. The store contract passes over it, ``crg run --node`` runs over it, and
the operator's mistakes — a wrong CA, a wrong password, no client certificate — each
exit 2 with a sentence saying what to check, never with the password in sight."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from etcd_server import EtcdCluster, ServerTls, etcd_available
from pki import OPENSSL, Pki, make_pki
from stopped import stop as stop_process

from crg.runtime.control import ControlError, request
from crg.runtime.store.access import Secret, StoreAccess
from crg.runtime.store.base import Store, StoreUnavailable
from crg.runtime.store.etcd import EtcdStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from store_contract import StoreContract

pytestmark = pytest.mark.timeout(120)

CONFIG = """cluster {name} {{
  nodes n1 n2
  lease 2s
  heartbeat 250ms
  store-timeout 400ms
  fence-margin 500ms
}}
group job {{
  vip 127.0.77.9/8
  app {{ start "{python} -c 'import time; time.sleep(300)'" stop signal TERM timeout 2s }}
  monitor process every 250ms
  preferred n1
  possible n2
}}
"""


@dataclass
class Secure:
    etcd: EtcdCluster
    pki: Pki
    user: str
    password: str

    def access(self, **changes: object) -> StoreAccess:
        base = {"tls": True, "ca": self.pki.ca, "cert": self.pki.client_cert,
                "key": self.pki.client_key, "user": self.user,
                "password": Secret(self.password)}
        return StoreAccess(**{**base, **changes})  # type: ignore[arg-type]


def _secure_etcd(workdir: Path, *extra: str) -> Secure:
    if not etcd_available():
        pytest.skip("needs Debian's etcd-server (/usr/bin/etcd); .ci/test installs it")
    if not os.access(OPENSSL, os.X_OK):
        pytest.skip("needs the openssl command (.ci/test installs it)")
    pki = make_pki(workdir / "pki")
    etcd = EtcdCluster(workdir, tls=ServerTls(pki.server_cert, pki.server_key, pki.ca,
                                              client_cert_auth=True,
                                              client=(pki.client_cert, pki.client_key)),
                        extra=extra)
    etcd.start()
    password = secrets.token_urlsafe(12)
    try:
        etcd.enable_auth("crg", password)
    except Exception:
        etcd.stop()
        raise
    return Secure(etcd, pki, "crg", password)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    """One TLS etcd with authentication, shared by the module's tests (distinct keys)."""
    found = _secure_etcd(tmp_path_factory.mktemp("tls-etcd"))
    try:
        yield found
    finally:
        found.etcd.stop()


class TestEtcdContractOverTls(StoreContract):
    ttl_ms = 2000
    slack_s = 1.5
    access: StoreAccess | None = None
    url = ""

    @pytest.fixture(autouse=True)
    def _server(self, secure: Secure) -> Iterator[None]:
        type(self).url, type(self).access = secure.etcd.url, secure.access()
        yield

    async def open(self) -> Store:
        return EtcdStore.from_url(self.url, access=self.access)


# -- crg run over it ------------------------------------------------------------------------


@dataclass
class Agent:
    process: subprocess.Popen[str]
    run_dir: Path

    def output(self) -> str:
        return self.process.stdout.read() if self.process.stdout else ""


def start_agent(secure: Secure, tmp_path: Path, name: str, *extra: str,
                env: dict[str, str] | None = None) -> Agent:
    config = tmp_path / "job.crg"
    config.write_text(CONFIG.format(name=name, python=sys.executable))
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "crg", "run", str(config), "--node", "n1",
            "--store", secure.etcd.url, "--address", "null", "--run-dir", str(run_dir),
            *extra]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, **(env or {})},
                               start_new_session=True)
    return Agent(process, run_dir)


def stop(agent: Agent) -> str:
    if agent.process.poll() is None:
        agent.process.send_signal(signal.SIGTERM)
        try:
            agent.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(agent.process.pid, signal.SIGKILL)
            agent.process.wait(timeout=10)
    return agent.output()


def tls_flags(secure: Secure, ca: Path | None = None) -> list[str]:
    return ["--store-ca", str(ca or secure.pki.ca), "--store-cert",
            str(secure.pki.client_cert), "--store-key", str(secure.pki.client_key),
            "--store-user", secure.user]


def status(agent: Agent) -> dict[str, object] | None:
    try:
        answer = request(agent.run_dir / "control.sock", {"op": "status"}, timeout_s=2)
    except ControlError:
        return None
    found: dict[str, object] = answer["status"]
    return found


def test_crg_run_over_tls_with_a_password_from_a_file(secure: Secure, tmp_path: Path) -> None:
    secret_file = tmp_path / "etcd-password"
    secret_file.write_text(secure.password + "\n")
    secret_file.chmod(0o600)
    agent = start_agent(secure, tmp_path, "tlsrun", *tls_flags(secure),
                        "--store-password-file", str(secret_file), "-v")
    try:
        deadline = time.monotonic() + 40
        while True:
            found = status(agent)
            groups = found["groups"] if found else []
            if found and found.get("agent") == "running" and groups and \
                    groups[0]["mode"] == "normal":  # type: ignore[index]
                break
            assert agent.process.poll() is None, agent.output()
            assert time.monotonic() < deadline, "the agent did not run job over TLS"
            time.sleep(0.1)
        cmdline = Path(f"/proc/{agent.process.pid}/cmdline").read_bytes()
        assert secure.password.encode() not in cmdline
    finally:
        output = stop(agent)
    assert agent.process.returncode == 0, output
    assert "stopping: draining n1 " in output and "every node" not in output, output
    assert secure.password not in output, "the password reached the log"
    assert "Traceback" not in output


def refused(agent: Agent) -> str:
    try:
        agent.process.wait(timeout=30)
    finally:
        output = stop(agent)
    assert agent.process.returncode == 2, output
    assert "Traceback" not in output
    # gRPC's C core logs a failed handshake on fd 2 itself (``E1203 12:00:00.000 42
    # secure_endpoint.cc:269] Decryption error``): not crg's words, nor a --log-format.
    assert not re.search(r"^[IWE]\d{4} ", output, re.MULTILINE), output
    return output


def test_a_wrong_ca_exits_2_saying_so(secure: Secure, tmp_path: Path) -> None:
    agent = start_agent(secure, tmp_path, "tlsca", *tls_flags(secure, secure.pki.other_ca),
                        env={"CRG_STORE_PASSWORD": secure.password})
    output = refused(agent)
    assert "the TLS handshake failed" in output and "--store-ca" in output, output
    assert "CERTIFICATE_VERIFY_FAILED" in output, output
    assert secure.password not in output


def test_a_wrong_password_exits_2_saying_so(secure: Secure, tmp_path: Path) -> None:
    wrong = secrets.token_urlsafe(12)
    agent = start_agent(secure, tmp_path, "tlspw", *tls_flags(secure),
                        env={"CRG_STORE_PASSWORD": wrong})
    output = refused(agent)
    assert "authentication failed" in output and "do not match" in output, output
    assert wrong not in output and secure.password not in output


def test_no_client_certificate_exits_2_saying_so(secure: Secure, tmp_path: Path) -> None:
    agent = start_agent(secure, tmp_path, "tlscert", "--store-ca", str(secure.pki.ca),
                        "--store-user", secure.user,
                        env={"CRG_STORE_PASSWORD": secure.password})
    output = refused(agent)
    assert "the TLS handshake failed" in output and "--store-cert" in output, output


def test_no_user_with_auth_on_exits_2_without_naming_a_user_none(secure: Secure,
                                                               tmp_path: Path) -> None:
    """A client certificate and no --store-user: etcd takes the certificate's common name
    (not one of its users here) and refuses; the message named "the user None"."""
    agent = start_agent(secure, tmp_path, "tlsnouser", "--store-ca", str(secure.pki.ca),
                        "--store-cert", str(secure.pki.client_cert), "--store-key",
                        str(secure.pki.client_key))
    output = refused(agent)
    assert "permission denied" in output and "None" not in output, output
    assert "no --store-user was given" in output, output


@pytest.mark.parametrize(("flags", "message"), [
    (["--store-user", "crg"], "--store-user crg needs a password"),
    (["--store-cert", "CERT"], "--store-cert and --store-key go together"),
    (["--store-ca", "OTHER_KEY"], "--store-ca"),
    (["--store-cert", "CERT", "--store-key", "OTHER_KEY"], "the private key that belongs"),
    (["--store-password-file", "MISSING", "--store-user", "crg"],
     "--store-password-file"),
])
def test_mistakes_in_the_tls_flags_are_refused_before_anything_starts(
        secure: Secure, tmp_path: Path, flags: list[str], message: str) -> None:
    other_key = tmp_path / "other.key"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(other_key)], check=True,
                   capture_output=True)
    names = {"CERT": str(secure.pki.client_cert), "OTHER_KEY": str(other_key),
             "MISSING": str(tmp_path / "missing")}
    agent = start_agent(secure, tmp_path, "tlsflags", *[names.get(f, f) for f in flags],
                        env={"CRG_STORE_PASSWORD": ""})
    output = refused(agent)
    assert message in output, output
    assert not agent.run_dir.exists(), "refused before anything was touched"


def test_a_password_in_the_url_is_refused_and_not_repeated(secure: Secure,
                                                           tmp_path: Path) -> None:
    config = tmp_path / "job.crg"
    config.write_text(CONFIG.format(name="tlsurl", python=sys.executable))
    host = secure.etcd.members[0].endpoint
    result = subprocess.run(
        [sys.executable, "-m", "crg", "run", str(config), "--node", "n1", "--store",
         f"etcds://crg:{secure.password}@{host}", "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "credentials do not belong in the URL" in result.stderr, result.stderr
    assert secure.password not in result.stderr + result.stdout


def test_the_store_logs_in_again_when_its_token_expired(tmp_path: Path) -> None:
    """etcd forgets a login token that was not used for --auth-token-ttl (1 s here): the
    next call is answered "invalid auth token", and the store logs in again on a fresh
    connection instead of reporting a refusal (an agent idle that long would otherwise
    never reach the store again)."""
    own = _secure_etcd(tmp_path, "--auth-token-ttl", "1")

    async def body() -> None:
        store = EtcdStore.from_url(own.etcd.url, access=own.access())
        try:
            await store.put("/crg/idle/a", "1")
            await asyncio.sleep(2.5)  # the token expires while nothing is asked
            snap = await store.snapshot("/crg/idle/")
            assert snap.get("/crg/idle/a") is not None
        finally:
            await store.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        own.etcd.stop()


def test_an_etcd_that_does_not_answer_is_not_blamed_on_certificates(secure: Secure) -> None:
    """A hung etcd (stopped here) fails the TLS handshake of every fresh connection the
    store opens (``Handshake read failed (Endpoint closing)``): that is a server that
    does not answer, and asking whether its certificate is signed by --store-ca sent the
    operator after the wrong cause in the middle of an outage."""
    member = secure.etcd.members[0]
    assert member.process is not None
    reasons: list[str] = []

    async def body() -> None:
        store = EtcdStore.from_url(secure.etcd.url, timeout_ms=300, access=secure.access())
        try:
            await store.snapshot("/crg/hung/")
            stop_process(member.process.pid)
            try:
                for _ in range(3):  # the first times out; the next ones connect afresh
                    with pytest.raises(StoreUnavailable) as failed:
                        await store.snapshot("/crg/hung/")
                    reasons.append(str(failed.value))
            finally:
                os.kill(member.process.pid, signal.SIGCONT)
        finally:
            await store.close()

    asyncio.run(asyncio.wait_for(body(), 60))
    assert all("did not answer" in reason for reason in reasons), reasons
    assert not any("--store-ca" in reason for reason in reasons), reasons
