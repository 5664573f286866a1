"""Real etcd members for the tests: started from Debian's ``/usr/bin/etcd`` with a data
directory under the test's tmp dir, optionally inside a network namespace, always killed
by :meth:`EtcdCluster.stop` (the fixtures call it in their finalizers)."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nsthread import in_netns

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def etcd_available() -> bool:
    return os.access(ETCD, os.X_OK)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ServerTls:
    """etcd's client port over TLS: its certificate and key, the CA it trusts for client
    certificates, and whether it demands one (``--client-cert-auth``)."""

    cert: Path
    key: Path
    ca: Path
    client_cert_auth: bool = True
    client: tuple[Path, Path] | None = None
    """A client certificate and key the test itself uses (health probes, set-up)."""


@dataclass
class Member:
    name: str
    host: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    tls: bool = False

    @property
    def client_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"


@dataclass
class EtcdCluster:
    """``hosts``: one address per member (loopback, or the test bed's LAN addresses);
    ``netns``: the namespace the members run in (None: this one)."""

    workdir: Path
    hosts: tuple[str, ...] = ("127.0.0.1",)
    netns: str | None = None
    heartbeat_ms: int = 50
    election_ms: int = 500
    tls: ServerTls | None = None
    extra: tuple[str, ...] = ()
    """More etcd flags for every member."""
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Ports are probed free here; inside a fresh namespace every port is free anyway.
        for i, host in enumerate(self.hosts):
            fixed = self.netns is not None
            client = 2379 if fixed else free_port(host)
            peer = 2380 if fixed else free_port(host)
            self.members.append(Member(f"m{i}", host, client, peer, self.workdir / f"etcd-m{i}",
                                       self.workdir / f"etcd-m{i}.log",
                                       tls=self.tls is not None))

    @property
    def url(self) -> str:
        scheme = "etcds" if self.tls is not None else "etcd"
        return f"{scheme}://" + ",".join(m.endpoint for m in self.members)

    def http_options(self) -> dict[str, object]:
        """httpx options for talking to the members' client port (TLS: trust the CA,
        show the test's client certificate)."""
        if self.tls is None:
            return {}
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        if self.tls.client is not None:
            context.load_cert_chain(*(str(p) for p in self.tls.client))
        return {"verify": context}

    def _command(self, m: Member) -> list[str]:
        initial = ",".join(f"{x.name}={x.peer_url}" for x in self.members)
        argv = [ETCD, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"crg-test-{os.getpid()}",
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_ms),
                "--pre-vote", "--log-level", "warn"]
        argv += self.extra
        if self.tls is not None:
            argv += ["--cert-file", str(self.tls.cert), "--key-file", str(self.tls.key),
                     "--trusted-ca-file", str(self.tls.ca)]
            if self.tls.client_cert_auth:
                argv.append("--client-cert-auth")
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + argv

    def start_member(self, m: Member) -> None:
        m.data_dir.mkdir(parents=True, exist_ok=True)
        with m.log.open("ab") as log:
            m.process = subprocess.Popen(self._command(m), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self, timeout_s: float = 20.0) -> EtcdCluster:
        """Start every member and wait until each is healthy. A port probed free can be
        taken by another test before etcd binds it (the suite runs on two workers): then
        the members start again on fresh ports, at most three times."""
        for attempt in range(3):
            for m in self.members:
                self.start_member(m)
            try:
                self.wait_healthy(timeout_s)
                return self
            except TimeoutError as exc:
                if self.netns is not None or "address already in use" not in str(exc) \
                        or attempt == 2:
                    raise
            self.stop()
            for m in self.members:
                shutil.rmtree(m.data_dir, ignore_errors=True)
                m.client_port, m.peer_port = free_port(m.host), free_port(m.host)
        raise AssertionError("unreachable")

    def wait_healthy(self, timeout_s: float = 20.0, members: list[Member] | None = None) -> None:
        """Poll /health of the running members until each says it has a leader."""
        deadline = time.monotonic() + timeout_s
        pending = [m for m in (members or self.members) if self.running(m)]
        while pending:
            m = pending[0]
            if self.healthy(m):
                pending.pop(0)
                continue
            if time.monotonic() > deadline or not self.running(m):
                what = "exited" if not self.running(m) else f"not healthy after {timeout_s}s"
                raise TimeoutError(f"etcd {m.name} {what}:\n"
                                   + m.log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)

    def healthy(self, m: Member) -> bool:
        def probe() -> bool:
            try:
                return bool(httpx.get(m.client_url + "/health", timeout=0.5,
                                      **self.http_options())  # type: ignore[arg-type]
                            .json().get("health") == "true")
            except (httpx.HTTPError, ValueError):
                return False

        return in_netns(self.netns, probe) if self.netns else probe()

    def leader(self) -> Member | None:
        """The member that is raft leader now, as reported by the first running member
        that knows. Asked over etcd's HTTP gateway: gRPC's own threads would stay in
        whatever namespace they were first started from."""
        for m in self.members:
            if not self.running(m):
                continue

            try:
                member_id, leader_id = (in_netns(self.netns, lambda m=m: _status(m))
                                        if self.netns else _status(m))
            except (httpx.HTTPError, KeyError, ValueError):
                continue  # this member cannot tell (no leader yet): ask the next
            if member_id == leader_id:
                return m
            for other in self.members:
                if other is not m and self.running(other):
                    try:
                        mid, _ = (in_netns(self.netns, lambda o=other: _status(o))
                                  if self.netns else _status(other))
                    except (httpx.HTTPError, KeyError, ValueError):
                        continue
                    if mid == leader_id:
                        return other
        return None

    def enable_auth(self, user: str, password: str, prefix: str = "/crg/") -> None:
        """Turn on etcd's authentication with ``user`` allowed to read and write under
        ``prefix`` (and a root user, which etcd requires first), through etcd's HTTP
        gateway: Debian's etcd-server package has no etcdctl."""
        m = self.members[0]
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)

        def post(path: str, body: dict[str, object]) -> None:
            reply = httpx.post(m.client_url + path, json=body, timeout=5.0,
                               **self.http_options())  # type: ignore[arg-type]
            if reply.status_code != 200:
                raise RuntimeError(f"etcd {path}: {reply.status_code} {reply.text}")

        post("/v3/auth/user/add", {"name": "root", "password": f"root-{os.getpid()}"})
        post("/v3/auth/user/grant", {"user": "root", "role": "root"})
        post("/v3/auth/role/add", {"name": user})
        post("/v3/auth/role/grant", {"name": user, "perm": {
            "permType": "READWRITE", "key": _b64(prefix), "range_end": _b64(end)}})
        post("/v3/auth/user/add", {"name": user, "password": password})
        post("/v3/auth/user/grant", {"user": user, "role": user})
        post("/v3/auth/enable", {})

    def change_password(self, user: str, password: str) -> None:
        """Give ``user`` a new password, as etcd's root, over gRPC: etcd's gateway refuses
        a login from a client whose certificate has a common name (the test's has)."""
        import grpc
        from aetcd import rpc

        m = self.members[0]
        credentials = None
        if self.tls is not None:
            client = self.tls.client
            credentials = grpc.ssl_channel_credentials(
                self.tls.ca.read_bytes(), client[1].read_bytes() if client else None,
                client[0].read_bytes() if client else None)
        with (grpc.secure_channel(m.endpoint, credentials) if credentials is not None
              else grpc.insecure_channel(m.endpoint)) as channel:
            login = rpc.AuthStub(channel).Authenticate(
                rpc.AuthenticateRequest(name="root", password=f"root-{os.getpid()}"),
                timeout=5.0)
            rpc.AuthStub(channel).UserChangePassword(
                rpc.AuthUserChangePasswordRequest(name=user, password=password),
                timeout=5.0, metadata=(("token", login.token),))

    @staticmethod
    def running(m: Member) -> bool:
        return m.process is not None and m.process.poll() is None

    def kill(self, m: Member) -> None:
        """SIGKILL one member (and anything it started), wait for it to be gone."""
        if m.process is None:
            return
        if m.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(m.process.pid, signal.SIGKILL)
            m.process.wait(timeout=10)
        m.process = None

    def restart(self, m: Member, timeout_s: float = 20.0) -> None:
        self.kill(m)
        self.start_member(m)
        self.wait_healthy(timeout_s, [m])

    def stop(self) -> None:
        for m in self.members:
            self.kill(m)


def _status(m: Member) -> tuple[str, str]:
    reply = httpx.post(m.client_url + "/v3/maintenance/status", json={}, timeout=1.0).json()
    return str(reply["header"]["member_id"]), str(reply["leader"])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
