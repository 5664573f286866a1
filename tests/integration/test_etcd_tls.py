"""etcd over TLS with a password (``--store etcds://...``), against a real etcd started
here with certificates made here (tests/integration/pki.py): client certificates
required (``--client-cert-auth``) and authentication enabled, with a user allowed only
under /crg/. The store contract passes over it, ``crg run --node`` runs over it, and
the operator's mistakes — a wrong CA, a wrong password, no client certificate — each
exit 2 with a sentence saying what to check, never with the password in sight."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from etcd_server import EtcdCluster, ServerTls, etcd_available
from pki import OPENSSL, Pki, make_dated_client, make_pki
from stopped import stop as stop_process

from crg.runtime.control import ControlError, request
from crg.runtime.store.access import Secret, StoreAccess, read_password, validity
from crg.runtime.store.base import Store, StoreError, StoreUnavailable
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
    # stopped by SIGTERM, as a service manager does: no Ctrl-C to press again there
    assert f"(SIGINT (kill -INT {agent.process.pid}) to kill" in output, output
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
    # Read whole, it grew the process until a MemoryError (exit 3).
    (["--store-password-file", "/dev/zero", "--store-user", "crg"],
     "--store-password-file /dev/zero: its first line is longer than 4096 bytes"),
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


# -- credentials rotated under a running store ---------------------------------------------


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` anew in place, as a rotation does (a whole file at once)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(data)
    os.replace(fresh, path)


async def _until_answered(store: EtcdStore, prefix: str, timeout_s: float = 30.0
                          ) -> list[str]:
    """Snapshots until one is answered (bounded); the failures met before it."""
    failures: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await store.snapshot(prefix)
            return failures
        except StoreError as exc:
            failures.append(str(exc))
            assert time.monotonic() < deadline, f"never answered again: {failures[-3:]}"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("etcd_first", [False, True], ids=["file-first", "etcd-first"])
def test_a_rotated_password_is_read_again_without_a_restart(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, etcd_first: bool) -> None:
    """The password is rotated: written to --store-password-file, and etcd's user given it
    (in either order). The store read the file once, at the start, and every later login
    failed for good ("authentication failed ... do not match") until the agent was
    restarted; it reads the file again when etcd refuses the password or forgets the
    token, and logs in with what it says now."""
    own = _secure_etcd(tmp_path)
    member = own.etcd.members[0]
    secret_file = tmp_path / "etcd-password"
    secret_file.write_text(own.password + "\n")
    new_password = secrets.token_urlsafe(12)
    caplog.set_level(logging.INFO, logger="crg.runtime")
    refusals: list[str] = []

    async def body() -> None:
        access = own.access(password=read_password(secret_file))
        store = EtcdStore.from_url(own.etcd.url, access=access)
        try:
            await store.put("/crg/rotate/a", "1")
            if etcd_first:
                await asyncio.to_thread(own.etcd.change_password, own.user, new_password)
                # Restarted, etcd forgets every token: the next call must log in afresh.
                await asyncio.to_thread(own.etcd.restart, member)
                with pytest.raises(StoreError) as refused:
                    await _until_refused(store)
                refusals.append(str(refused.value))
                _replace(secret_file, f"{new_password}\nthe rest is not read\n".encode())
            else:
                _replace(secret_file, f"{new_password}\n".encode())
                await asyncio.to_thread(own.etcd.change_password, own.user, new_password)
            await _until_answered(store, "/crg/rotate/")
            # And a fresh login (etcd restarted) is made with the new password too.
            await asyncio.to_thread(own.etcd.restart, member)
            await _until_answered(store, "/crg/rotate/")
            assert (await store.snapshot("/crg/rotate/")).get("/crg/rotate/a") is not None
        finally:
            await store.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        own.etcd.stop()
    if etcd_first:
        assert "authentication failed" in refusals[0], refusals
        assert str(secret_file) in refusals[0] and "read again" in refusals[0], refusals
    assert f"the password in {secret_file} changed" in caplog.text, caplog.text
    for password in (own.password, new_password):
        assert password not in caplog.text and password not in " ".join(refusals)


async def _until_refused(store: EtcdStore, timeout_s: float = 30.0) -> None:
    """Snapshots until etcd refuses one (StoreError that is not StoreUnavailable)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(StoreUnavailable):  # etcd is still starting
            await store.snapshot("/crg/rotate/")
        await asyncio.sleep(0.1)
    raise AssertionError("etcd never refused the old password")


@dataclass
class Rotation:
    """A TLS etcd of its own, the client's CA, certificate and key files at fixed paths,
    and a second PKI to rotate both to. ``with_ca``: the CA file is rotated too; without,
    it trusts both servers from the start, so only the certificate matters."""

    own: Secure
    new: Pki
    files: tuple[Path, Path, Path]
    with_ca: bool

    @classmethod
    def make(cls, tmp_path: Path, with_ca: bool) -> Rotation:
        own = _secure_etcd(tmp_path)
        new = make_pki(tmp_path / "pki2")
        mine = tmp_path / "client"
        mine.mkdir()
        ca, cert, key = mine / "ca.pem", mine / "client.pem", mine / "client.key"
        ca.write_bytes(own.pki.ca.read_bytes() + (b"" if with_ca else new.ca.read_bytes()))
        cert.write_bytes(own.pki.client_cert.read_bytes())
        key.write_bytes(own.pki.client_key.read_bytes())
        return cls(own, new, (ca, cert, key), with_ca)

    def store(self) -> EtcdStore:
        ca, cert, key = self.files
        return EtcdStore.from_url(self.own.etcd.url,
                                  access=self.own.access(ca=ca, cert=cert, key=key))

    def rotate_files(self) -> None:
        ca, cert, key = self.files
        if self.with_ca:
            _replace(ca, self.new.ca.read_bytes())
        _replace(key, self.new.client_key.read_bytes())
        _replace(cert, self.new.client_cert.read_bytes())

    async def rotate_etcd(self) -> None:
        """etcd restarted with the new PKI's certificates, trusting only its CA."""
        new = self.new
        self.own.etcd.tls = ServerTls(new.server_cert, new.server_key, new.ca,
                                      client_cert_auth=True,
                                      client=(new.client_cert, new.client_key))
        await asyncio.to_thread(self.own.etcd.restart, self.own.etcd.members[0])

    def run(self, body: Callable[[EtcdStore], Awaitable[None]]) -> None:
        async def within() -> None:
            store = self.store()
            try:
                await store.put("/crg/certs/a", "1")
                await body(store)
                assert (await store.snapshot("/crg/certs/")).get("/crg/certs/a") is not None
            finally:
                await store.close()

        try:
            asyncio.run(asyncio.wait_for(within(), 90))
        finally:
            self.own.etcd.stop()


@pytest.mark.parametrize("with_ca", [False, True], ids=["certificate", "ca-too"])
def test_rotated_tls_files_are_read_again_at_the_next_connection(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, with_ca: bool) -> None:
    """The client certificate and key (and the CA) are replaced in place, at the same
    paths, and etcd is restarted with certificates of a new CA that no longer accepts
    the old client certificate. The store made its TLS credentials once, from the files
    at the start: it was cut off for good. It now reads the files again whenever it
    dials a connection afresh."""
    rotation = Rotation.make(tmp_path, with_ca)
    caplog.set_level(logging.INFO, logger="crg.runtime")

    async def body(store: EtcdStore) -> None:
        rotation.rotate_files()
        await rotation.rotate_etcd()
        await _until_answered(store, "/crg/certs/")

    rotation.run(body)
    assert "the TLS files (--store-ca, --store-cert, --store-key) changed" in caplog.text, \
        caplog.text
    assert rotation.own.password not in caplog.text


@pytest.mark.parametrize("with_ca", [False, True], ids=["certificate", "ca-too"])
def test_tls_files_etcd_refuses_leave_the_previous_ones_in_use(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, with_ca: bool) -> None:
    """The files are rotated before etcd is (a client certificate of a CA etcd does not
    trust yet; or a CA that does not trust etcd's certificate yet): the store went on
    with the new files at its next connection and was cut off — its node lost, its
    groups moved — though the old set still worked. It now goes back to the set etcd
    accepted, and to the new one once etcd moves to it and refuses the old."""
    rotation = Rotation.make(tmp_path, with_ca)
    etcd, member = rotation.own.etcd, rotation.own.etcd.members[0]
    caplog.set_level(logging.INFO, logger="crg.runtime")

    async def body(store: EtcdStore) -> None:
        rotation.rotate_files()
        # etcd not rotated yet, but away for a call: the store dials afresh after it
        # (a gRPC channel that only reconnects keeps its credentials)
        await asyncio.to_thread(etcd.kill, member)
        with pytest.raises(StoreUnavailable):
            await store.snapshot("/crg/certs/")
        await asyncio.to_thread(etcd.start_member, member)
        await asyncio.to_thread(etcd.wait_healthy, 20.0, [member])
        await _until_answered(store, "/crg/certs/")
        assert "trying the other" in caplog.text, caplog.text
        # the old set in use, the files still the new ones: etcd moves to them now
        await rotation.rotate_etcd()
        await _until_answered(store, "/crg/certs/")

    rotation.run(body)
    assert rotation.own.password not in caplog.text


def test_an_expired_client_certificate_is_named_not_the_ca(secure: Secure,
                                                           tmp_path: Path) -> None:
    """etcd refuses an expired client certificate in the handshake, and the store asked
    whether the server's certificate was signed by --store-ca. It says which file
    expired, and when."""
    cert, key = make_dated_client(secure.pki, f"expired-{os.getpid()}", "20200101000000Z",
                                  "20200102000000Z")

    async def body() -> str:
        store = EtcdStore.from_url(secure.etcd.url, timeout_ms=2000,
                                   access=secure.access(cert=cert, key=key))
        try:
            with pytest.raises(StoreUnavailable) as failed:
                await store.snapshot("/crg/expired/")
            return str(failed.value)
        finally:
            await store.close()

    reason = asyncio.run(asyncio.wait_for(body(), 60))
    assert f"the client certificate {cert} expired on 2020-01-02 00:00:00 UTC" in reason, \
        reason
    assert "--store-ca" not in reason, reason


def test_an_expired_client_certificate_exits_2_naming_it(secure: Secure,
                                                         tmp_path: Path) -> None:
    cert, key = make_dated_client(secure.pki, f"old-{os.getpid()}", "20200101000000Z",
                                  "20200102000000Z")
    agent = start_agent(secure, tmp_path, "tlsexpired", "--store-ca", str(secure.pki.ca),
                        "--store-cert", str(cert), "--store-key", str(key),
                        "--store-user", secure.user,
                        env={"CRG_STORE_PASSWORD": secure.password})
    output = refused(agent)
    assert f"the client certificate {cert} expired on 2020-01-02 00:00:00 UTC" in output, \
        output
    assert not agent.run_dir.exists(), "refused before anything was touched"


def test_certificate_dates_are_read_in_both_forms(secure: Secure) -> None:
    """UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280), as openssl writes them."""
    for start, end in (("20200101000000Z", "20491231235959Z"),
                       ("20490101000000Z", "20600101120000Z")):
        cert, _ = make_dated_client(secure.pki, f"dated-{start[:4]}-{os.getpid()}", start, end)
        dates = validity(cert.read_bytes())
        assert dates is not None
        assert [d.strftime("%Y%m%d%H%M%SZ") for d in dates] == [start, end]


def _wait_status(agent: Agent, what: str, ok: Callable[[dict[str, object]], bool],
                 timeout_s: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = status(agent)
        if found is not None and ok(found):
            return found
        assert agent.process.poll() is None, agent.output()
        assert time.monotonic() < deadline, f"{what}: {found}"
        time.sleep(0.2)


def _normal(found: dict[str, object]) -> bool:
    groups = found.get("groups") or []
    return (found.get("agent") == "running" and "store" not in found and bool(groups)
            and groups[0]["mode"] == "normal")  # type: ignore[index]


def test_an_agent_cut_off_by_a_password_change_comes_back_once_the_file_has_it(
        tmp_path: Path) -> None:
    """etcd's password is changed before the file (and etcd restarted, so every token is
    gone): the agent cannot log in, fences itself, and stayed cut off for good even once
    the new password was written to --store-password-file. It reads the file again at
    the next refusal and comes back, without a restart; its log says the cause, never
    the password."""
    own = _secure_etcd(tmp_path)
    secret_file = tmp_path / "etcd-password"
    secret_file.write_text(own.password + "\n")
    secret_file.chmod(0o600)
    new_password = secrets.token_urlsafe(12)
    agent = start_agent(own, tmp_path, "tlsrotate", *tls_flags(own),
                        "--store-password-file", str(secret_file))
    try:
        _wait_status(agent, "the agent did not run job over TLS", _normal)
        own.etcd.change_password(own.user, new_password)
        own.etcd.restart(own.etcd.members[0])
        _wait_status(agent, "the agent never found its password refused",
                     lambda found: "authentication failed" in str(found.get("store")))
        _replace(secret_file, f"{new_password}\n".encode())
        _wait_status(agent, "the agent did not come back with the new password", _normal)
    finally:
        output = stop(agent)
        own.etcd.stop()
    assert agent.process.returncode == 0, output
    assert "etcd store: calls fail: etcd refused" in output, output
    assert f"the password in {secret_file} changed" in output, output
    assert own.password not in output and new_password not in output
    assert "Traceback" not in output
