"""The store contract on etcd v3, for agents on several hosts.

Client: ``aetcd`` (asyncio over gRPC). It fits the agents' event loop, and a gRPC call
carries its own deadline and fails at once when the connection breaks; the alternative,
``etcd3gw``, talks to etcd's HTTP gateway synchronously and its watch can block silently
when the server dies. aetcd's own shared watch stream is not used: :meth:`EtcdStore.wait`
opens a fresh watch stream per call with a gRPC deadline, so a stream that died (etcd
restarted, a partition) can never keep a caller waiting, and the next call reconnects.

Every call is bounded twice: by the gRPC deadline and by ``asyncio.wait_for``. Timeouts
and unreachable members raise :class:`StoreUnavailable`; the store then drops that
member's channel (a fresh TCP connection after a partition heals, instead of one stuck in
retransmission back-off) and moves to the next member for the following call. Calls that
only read or renew are retried on the other members within the same time budget; writes
are not, because a write that timed out may still have been applied.

A dropped channel is closed only once the last call still using it has finished: closing
a gRPC channel cancels the calls on it, and such a call raises ``CancelledError`` in the
task that made it — an agent's lease renewal, say, which would then die silently while
the agent went on as if renewals were merely failing. For the same reason a
``CancelledError`` that does not come from a cancellation of the calling task is
reported as *store unavailable*, never passed on as one.

Credentials are rotated under a running agent, so nothing read from a file is kept for
good: every connection dialled afresh (after a failure: a TLS refusal, a member that
restarted) takes the CA, certificate and key files as they are then, and a password
etcd refuses, or a login token it forgot (changing a user's password revokes its
tokens), makes the store read ``--store-password-file`` again and log in with what it
says now. Files that cannot be used leave the previous ones in use. The cause of failing
calls is logged each time it changes (a rotation gone wrong turns "did not answer" into
a TLS refusal), never a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

# First: grpc is imported there with its C core's own stderr lines off (see the module).
from crg.runtime.store import grpc_quiet  # noqa: F401

# isort: split
import aetcd
import aetcd.watcher
import grpc
from aetcd import exceptions as etcd_errors
from aetcd import rpc

from crg.runtime.store.access import (
    AccessError,
    Secret,
    StoreAccess,
    TlsFiles,
    check,
    check_dates,
    read_password_again,
    redact_url,
)
from crg.runtime.store.base import (
    Entry,
    Lease,
    LeaseExpired,
    Put,
    Snapshot,
    Store,
    StoreError,
    StoreUnavailable,
    Txn,
)

T = TypeVar("T")

log = logging.getLogger("crg.runtime")

CAUSE_REPEAT_S = 60.0
"""A cause of failing calls logged already is logged again only this much later (and, if
it is the last cause, only after the store answered in between): a flapping member, or
two causes taking turns, must not bury the log."""

DEFAULT_PORT = 2379
ETCD_MIN_TTL_S = 2
"""etcd grants at least this (with its default timings) whatever is asked for."""

# Reconnect quickly after a member comes back; ping an idle connection so a silently dead
# one is noticed. etcd rejects pings more often than every 5 s (--grpc-keepalive-min-time).
CHANNEL_OPTIONS: dict[str, Any] = {
    # Own connections per channel: gRPC otherwise shares them process-wide, and a new
    # channel would inherit a dead connection's back-off instead of dialling afresh.
    "grpc.use_local_subchannel_pool": 1,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.min_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.keepalive_time_ms": 5000,
    "grpc.keepalive_timeout_ms": 2000,
    "grpc.keepalive_permit_without_calls": 0,
}

# Errors that mean "this member cannot answer now", as opposed to a refused request
# (etcd reports "no leader", "leader changed" and its own timeouts as UNAVAILABLE).
_TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,
    etcd_errors.ConnectionFailedError,
    etcd_errors.ConnectionTimeoutError,
    etcd_errors.WatchTimeoutError,
    OSError,
)
_TRANSIENT_CODES = frozenset({rpc.StatusCode.UNAVAILABLE, rpc.StatusCode.DEADLINE_EXCEEDED,
                              rpc.StatusCode.CANCELLED, rpc.StatusCode.UNKNOWN})


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


SCHEMES = ("etcd", "etcds")
"""``etcd://`` talks plain gRPC, ``etcds://`` gRPC over TLS."""


def parse_etcd_url(url: str) -> tuple[Endpoint, ...]:
    """``etcd[s]://host[:port][,host[:port]...]`` → endpoints; ValueError with a readable
    reason, which never repeats credentials written into the URL."""
    shown = redact_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(f"store URL {shown!r} must look like "
                         "etcd://HOST:PORT[,HOST:PORT...] (etcds:// for TLS)")
    endpoints: list[Endpoint] = []
    for part in rest.rstrip("/").split(","):
        if "@" in part:
            raise ValueError(f"store URL {shown!r}: credentials do not belong in "
                             "the URL (every user can read a command line): give "
                             "--store-user and --store-password-file")
        if not part:
            raise ValueError(f"store URL {shown!r} has an empty member")
        try:
            split = urlsplit("//" + part)
            host, port = split.hostname, split.port
        except ValueError as error:
            raise ValueError(f"store URL {shown!r}: bad member {part!r} ({error})") from None
        if not host or split.path or split.query or split.username:
            raise ValueError(f"store URL {shown!r}: bad member {part!r}, expected HOST[:PORT]")
        endpoints.append(Endpoint(host, port or DEFAULT_PORT))
    return tuple(endpoints)


def is_tls_url(url: str) -> bool:
    return url.startswith("etcds://")


def _entry(kv: Any) -> Entry:
    return Entry(kv.value.decode(), kv.mod_revision, kv.create_revision, kv.lease)


class _Client(aetcd.Client):  # type: ignore[misc]
    """aetcd's client, over TLS when given channel credentials. aetcd 1.0 opens only
    plain channels; this ``connect`` is its own, with the channel chosen here (and the
    same attributes set, which its other methods use). ``login``: the user and where its
    password is to be had at each login (the store's current one, which may change)."""

    _is_connecting: bool
    channel: Any

    def __init__(self, *, tls: Any = None,
                 login: tuple[str, Callable[[], str]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tls = tls
        self._login = login

    async def connect(self) -> None:
        if self._connected.is_set():
            return
        if self._is_connecting:
            await asyncio.wait_for(self._connected.wait(), self._connect_wait_timeout)
            return
        try:
            self._is_connecting = True
            target = f"{self._host}:{self._port}"
            options = list(self._options.items())
            self.channel = (rpc.secure_channel(target, self._tls, options=options)
                            if self._tls is not None
                            else rpc.insecure_channel(target, options=options))
            if self._login is not None:
                user, password = self._login
                self.auth_stub = rpc.AuthStub(self.channel)
                reply = await self.auth_stub.Authenticate(
                    rpc.AuthenticateRequest(name=user, password=password()),
                    timeout=self._timeout)
                self.metadata = (("token", reply.token),)
            self.kvstub = rpc.KVStub(self.channel)
            self.clusterstub = rpc.ClusterStub(self.channel)
            self.leasestub = rpc.LeaseStub(self.channel)
            self.maintenancestub = rpc.MaintenanceStub(self.channel)
            self._watcher = aetcd.watcher.Watcher(rpc.WatchStub(self.channel),
                                                  timeout=self._timeout,
                                                  metadata=self.metadata)
            self._connected.set()
        except BaseException:
            if self.channel is not None:
                # A failed handshake or login: close the channel now (it would linger
                # until collected), and let the next call dial afresh.
                await self.channel.close()
                self.channel = None
            raise
        finally:
            self._is_connecting = False


class EtcdStore(Store):
    """The store on an etcd v3 cluster; ``timeout_ms`` bounds every call (store-timeout);
    ``access``: TLS and credentials (runtime/store/access.py)."""

    def __init__(self, endpoints: tuple[Endpoint, ...], timeout_ms: int = 500,
                 access: StoreAccess | None = None) -> None:
        if not endpoints:
            raise ValueError("an etcd store needs at least one endpoint")
        self.endpoints = endpoints
        self.timeout_s = timeout_ms / 1000
        self.access = access or StoreAccess()
        self._password: Secret | None = self.access.password
        """The password as last read (``--store-password-file`` is read again when etcd
        refuses it)."""
        self._tls_files = self.access.tls_files()
        """The TLS files' contents the credentials below were made from."""
        self._tls = _credentials(self._tls_files) if self.access.tls else None
        self._tls_other: tuple[TlsFiles, Any] | None = None
        """The other set of TLS files a handshake may be tried with (see
        :meth:`_other_tls`): the one in use before the files changed, once etcd had
        accepted it, or the files' new one after etcd refused it."""
        self._tls_worked = False
        """Whether a call answered since the set in use was taken."""
        self._cause: str | None = None
        """The kind of the last failure (see :meth:`_failing`)."""
        self._answered_since = False
        self._said_kinds: dict[str, float] = {}
        """When each kind of failure was last logged."""
        self._said: dict[str, str] = {}
        """Problems with the files read again, by file: each is logged when it changes."""
        self._clients: dict[int, Any] = {}
        self._current = 0
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        self._users: dict[int, int] = {}
        """id(client) → calls in flight on it."""
        self._retired: dict[int, Any] = {}
        """Dropped clients still in use: closed when their last call ends."""

    @classmethod
    def from_url(cls, url: str, timeout_ms: int = 500,
                 access: StoreAccess | None = None) -> EtcdStore:
        """``access`` is made a TLS one for an ``etcds://`` URL (system CAs by default)."""
        access = access or StoreAccess()
        if is_tls_url(url) and not access.tls:
            access = dataclasses.replace(access, tls=True)
        return cls(parse_etcd_url(url), timeout_ms, access)

    # -- connections -----------------------------------------------------------------

    def _client(self, index: int) -> Any:
        client = self._clients.get(index)
        if client is None:
            endpoint = self.endpoints[index]
            host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
            if self.access.tls:
                self._refresh_tls()
            login = ((self.access.user, self._reveal)
                     if self.access.user is not None and self._password is not None else None)
            # aetcd passes `timeout` on as every RPC's gRPC deadline (seconds, float is fine).
            client = _Client(host=host, port=endpoint.port, timeout=self.timeout_s,
                             options=CHANNEL_OPTIONS, connect_wait_timeout=self.timeout_s,
                             login=login, tls=self._tls)
            self._clients[index] = client
        return client

    def _reveal(self) -> str:
        assert self._password is not None, "a login is only made with a password"
        return self._password.reveal()

    # -- credentials read again --------------------------------------------------------

    def _refresh_tls(self) -> None:
        """Before a connection is dialled: the CA, certificate and key as their files say
        now. They are rotated in place before they expire, and the agent would otherwise
        be cut off for good once the old certificate did. A set that cannot be used (half
        written, a key that is not the certificate's, expired) leaves the previous one in
        use, and is said once."""
        try:
            files = self.access.tls_files(again=True)
            if files == self._tls_files or (self._tls_other is not None
                                            and files == self._tls_other[0]):
                return  # the same as one of ours: _other_tls chooses between them
            check(self.access, again=True)  # the start's checks, on the files as they are
            if self.access.tls_files(again=True) != files:
                raise AccessError("they changed while they were read (read again at the "
                                  "next connection)")
        except AccessError as exc:
            self._say("tls", f"the TLS files cannot be used as they are now, so the "
                             f"previous ones still are: {exc}")
            return
        # The set in use is kept if etcd accepted it: should etcd refuse the new one (a
        # certificate of a CA it does not trust yet), the agent goes on with the old one
        # rather than being cut off and its node taken for lost.
        if self._tls_worked:
            self._tls_other = (self._tls_files, self._tls)
        self._tls_files, self._tls, self._tls_worked = files, _credentials(files), False
        self._said.pop("tls", None)
        log.warning("etcd store: the TLS files (--store-ca, --store-cert, --store-key) "
                    "changed: new connections use them")

    def _other_tls(self, error: BaseException) -> None:
        """A handshake failed: the next connections try the other set of TLS files, if
        there is one and it has not expired — the previous set, when etcd refuses the
        rotated files (their CA not trusted by etcd yet, or theirs not trusting etcd's
        certificate), or the rotated files again once etcd moves to them and refuses the
        previous set. The files on disk are read again at every connection as before: a
        set written there that is neither of the two is taken at once."""
        if self._tls_other is None:
            return
        files, credentials = self._tls_other
        if self._cert_out_of_date(files) is not None:
            self._tls_other = None  # never to be tried again: it cannot work
            return
        self._tls_other = (self._tls_files, self._tls)
        self._tls_files, self._tls, self._tls_worked = files, credentials, False
        for index in list(self._clients):
            self._drop(index)
        self._say("tls", f"the TLS handshake failed with one set of TLS files "
                         f"({_text(error)}): trying the other, kept since the files "
                         "changed (the one etcd accepted before, or the one the files hold)")

    def _read_password_again(self) -> bool:
        """After etcd refused the password or forgot the login token (changing a user's
        password revokes its tokens): the password as its file says now. True when it
        changed, so that a login with it is worth trying at once."""
        if self._password is None:
            return False
        try:
            fresh = read_password_again(self._password)
        except AccessError as exc:
            self._say("password", f"cannot read the password again, so the previous one is "
                                  f"still used: {exc}")
            return False
        if fresh is None or fresh == self._password:
            return False
        self._password = fresh
        self._said.pop("password", None)
        log.warning("etcd store: the password in %s changed: logging in with it",
                    fresh.source)
        return True

    def _say(self, about: str, text: str) -> None:
        if self._said.get(about) != text:
            self._said[about] = text
            log.warning("etcd store: %s", text)

    def _failing(self, kind: str, error: StoreError) -> StoreError:
        """Log why calls fail when that changes (``kind``): the agent's own line is about
        the first failure of an outage only, and a cause that changed meanwhile (a
        member that is back but now refuses the certificate) would stay unsaid."""
        now = time.monotonic()
        # Each cause at most once a while: two taking turns (a refused password, then a
        # timeout while etcd is busy) would otherwise flood the log twice a second, and
        # the same one again only after the store answered in between (a new outage).
        said_at = self._said_kinds.get(kind)
        due = said_at is None or now - said_at >= CAUSE_REPEAT_S
        if due and (kind != self._cause or self._answered_since):
            log.warning("etcd store: calls fail: %s", error)
            self._said_kinds[kind], self._answered_since = now, False
        self._cause = kind
        return error

    def _drop(self, index: int) -> None:
        """Forget a member's channel after a failure. It is closed in the background
        (bounded) so the caller's time budget is not spent on it, and only when no other
        call uses it any more (closing would cancel those calls)."""
        client = self._clients.pop(index, None)
        if client is None:
            return
        if self._users.get(id(client)):
            self._retired[id(client)] = client
        else:
            self._close_later(client)

    def _close_later(self, client: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._close_client(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @contextlib.contextmanager
    def _using(self, client: Any) -> Iterator[Any]:
        key = id(client)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            yield client
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                retired = self._retired.pop(key, None)
                if retired is not None:
                    self._close_later(retired)

    async def _close_client(self, client: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 1.0)

    async def _call(self, what: str, op: Callable[[Any], Awaitable[T]], *,
                    retry: bool) -> T:
        """Run ``op(client)`` against the current member within the time budget; when
        ``retry``, try the other members with what is left of it. A login token etcd no
        longer knows costs one more try on the same member, logged in afresh: etcd
        refused the call before doing anything, so even a write may be sent again."""
        if self._closed:
            raise StoreError("the etcd store is closed")
        deadline = time.monotonic() + self.timeout_s
        tries = len(self.endpoints) if retry else 1
        last: BaseException | None = None
        logged_in_again = read_again = False
        while tries > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            index = self._current
            try:
                with self._using(self._client(index)) as client:
                    result = await _not_cancelled(
                        asyncio.wait_for(self._connected(client, op), remaining))
                self._answered_since = self._tls_worked = True
                return result
            except (rpc.AioRpcError, etcd_errors.ClientError, *_TRANSIENT) as error:
                # A forgotten token: log in again, once, with the password as it is now
                # (a rotated one is read at once). A refused password: once more, if its
                # file says another one now. Both refusals come before etcd does anything.
                if _stale_token(error) and not logged_in_again:
                    logged_in_again, last = True, error
                    read_again = self._read_password_again()
                    self._drop(index)
                    continue
                if _bad_password(error) and not read_again and self._read_password_again():
                    read_again, last = True, error
                    self._drop(index)
                    continue
                if not _transient(error):
                    raise self._failing(_refusal_kind(error),
                                        StoreError(self._refused(what, error))) from error
                if _tls_refused(_text(error)):
                    self._other_tls(error)
                last = error
            self._drop(index)
            self._current = (index + 1) % len(self.endpoints)
            tries -= 1
        kind, reason = self._reason(last)
        raise self._failing(kind, StoreUnavailable(
            f"etcd ({', '.join(map(str, self.endpoints))}) did not answer {what} within "
            f"{self.timeout_s * 1000:.0f} ms: {reason}")) from last

    def _reason(self, error: BaseException | None) -> tuple[str, str]:
        """What kind of failure ``error`` is, and the sentence saying so."""
        if error is None or not _tls_refused(_text(error)):
            return "unreachable", _reason(error)
        dated = self._cert_out_of_date()
        if dated is not None:
            # Not the question about the CA: the answer is known.
            return "certificate", f"the TLS handshake failed ({_text(error)}): {dated}"
        return "tls", _reason(error)

    def _cert_out_of_date(self, files: TlsFiles | None = None) -> str | None:
        """Why the client certificate of ``files`` (by default the set in use) is not
        valid now, if it is not."""
        cert, pem = self.access.cert, (files or self._tls_files)[1]
        if cert is None or pem is None:
            return None
        try:
            check_dates(cert, pem)
        except AccessError as exc:
            return str(exc)
        return None

    def _refused(self, what: str, error: BaseException) -> str:
        """Why etcd refused ``what``, with what the operator can do about it."""
        detail = error.details() if isinstance(error, rpc.AioRpcError) else str(error)
        text = f"etcd refused {what}: {detail}"
        if "authentication failed" in detail:
            source = self._password.source if self._password is not None else None
            if source is not None and self._said.get("password") is None:
                return (f"{text} (the user {self.access.user!r} and the password in "
                        f"{source}, read again after this refusal, do not match: a new "
                        "password written there is read at the next call)")
            return (f"{text} (the user {self.access.user!r} and the password given with "
                    "--store-password-file or $CRG_STORE_PASSWORD do not match)")
        if "user name is empty" in detail or "user name not found" in detail:
            return f"{text} (this etcd requires a user: give --store-user and a password)"
        if "permission denied" in detail and self.access.user is None:
            # Without --store-user etcd takes the client certificate's common name as the
            # user, or none at all: there is no user of crg's to name ("the user None").
            return (f"{text} (no --store-user was given, so etcd took the user from the "
                    "client certificate's common name, if any: give --store-user and a "
                    "password, or grant that user a role with read-write permission on "
                    "the prefix /crg/)")
        if "permission denied" in detail:
            return (f"{text} (the user {self.access.user!r} needs a role with read-write "
                    "permission on the prefix /crg/)")
        return text

    @staticmethod
    async def _connected(client: Any, op: Callable[[Any], Awaitable[T]]) -> T:
        await client.connect()
        return await op(client)

    # -- leases ----------------------------------------------------------------------

    async def grant(self, ttl_ms: int) -> Lease:
        # etcd counts whole seconds: round up, never down. A longer lease than configured
        # is safe (the holder fences itself by its own clock, earlier than expiry); a
        # shorter one is not.
        ttl_s = max(ETCD_MIN_TTL_S, math.ceil(ttl_ms / 1000))
        granted = await self._call("a lease grant", lambda c: c.lease(ttl_s), retry=True)
        return Lease(int(granted.id), int(granted.ttl) * 1000)

    async def keepalive(self, lease: Lease) -> None:
        reply = await self._call("a lease keepalive",
                                 lambda c: c.refresh_lease(lease.id), retry=True)
        if reply is None or reply.TTL <= 0:
            raise LeaseExpired(f"etcd lease {lease.id:x} has expired")

    lease_resolution_s = 1.0  # etcd counts a lease's time to live in whole seconds

    async def lease_left(self, lease_id: int) -> float | None:
        reply = await self._call("a lease lookup",
                                 lambda c: c.get_lease_info(lease_id, keys=False), retry=True)
        ttl = int(getattr(reply, "TTL", -1))
        return None if ttl < 0 else float(ttl)

    async def revoke(self, lease: Lease) -> None:
        async def revoke(client: Any) -> None:
            try:
                await client.revoke_lease(lease.id)
            except etcd_errors.ClientError as error:
                # Revoking an expired lease: its keys are gone already, which is the goal.
                if "not found" not in str(error):
                    raise

        await self._call("a lease revoke", revoke, retry=True)

    # -- reads -----------------------------------------------------------------------

    async def snapshot(self, prefix: str) -> Snapshot:
        # One Range request is served at one revision: a consistent snapshot.
        result = await self._call("a snapshot",
                                  lambda c: c.get_prefix(prefix.encode()), retry=True)
        entries = {kv.key.decode(): _entry(kv) for kv in result.kvs}
        return Snapshot.of(int(result.header.revision), entries)

    # -- writes ----------------------------------------------------------------------

    async def _txn(self, what: str, compare: list[Any], puts: tuple[Put, ...] = (),
                   deletes: tuple[str, ...] = ()) -> int:
        """One etcd transaction; the new revision, or 0 when a comparison failed."""
        ops = [rpc.RequestOp(request_put=rpc.PutRequest(
                   key=p.key.encode(), value=p.value.encode(), lease=_lease_id(p.lease)))
               for p in puts]
        ops += [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k.encode()))
                for k in deletes]
        request = rpc.TxnRequest(compare=compare, success=ops, failure=[])

        async def txn(client: Any) -> int:
            reply = await client.kvstub.Txn(request, timeout=self.timeout_s,
                                            metadata=client.metadata)
            return int(reply.header.revision) if reply.succeeded else 0

        return await self._call(what, txn, retry=False)

    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        compare = [_compare(key, rpc.Compare.CREATE, create_revision=0)]
        return bool(await self._txn(f"creating {key}", compare, (Put(key, value, lease),)))

    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        # mod_revision of an absent key compares as 0, so 0 means "only if absent".
        compare = [_compare(key, rpc.Compare.MOD, mod_revision=expected_mod_revision)]
        return bool(await self._txn(f"updating {key}", compare, (Put(key, value, lease),)))

    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        compare = [_compare(key, rpc.Compare.MOD, mod_revision=expected_mod_revision)]
        return bool(await self._txn(f"deleting {key}", compare, deletes=(key,)))

    async def commit(self, txn: Txn) -> int:
        compare = [_compare(key, rpc.Compare.MOD, mod_revision=revision)
                   for key, revision in sorted(txn.compare.items())]
        keys = [p.key for p in txn.puts] + list(txn.deletes)
        return await self._txn(f"committing {', '.join(keys) or 'nothing'}", compare,
                               txn.puts, txn.deletes)

    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        result = await self._call(
            f"writing {key}",
            lambda c: c.put(key.encode(), value.encode(), lease=_lease_id(lease)),
            retry=False)
        return int(result.header.revision)

    # -- watch -----------------------------------------------------------------------

    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        deadline = time.monotonic() + timeout_ms / 1000
        pause = 0.05
        while (remaining := deadline - time.monotonic()) > 0 and not self._closed:
            index = self._current
            try:
                with self._using(self._client(index)) as client:
                    return await _not_cancelled(asyncio.wait_for(
                        self._watch_once(client, prefix, after_revision, remaining),
                        remaining))
            except TimeoutError:
                return after_revision  # nothing changed in time: the normal outcome
            except (*_TRANSIENT, rpc.AioRpcError, etcd_errors.ClientError) as error:
                # Dead stream or unreachable member: reconnect, elsewhere, after a short
                # pause so a down cluster is not hammered, until the deadline.
                if _stale_token(error) or _bad_password(error):
                    self._read_password_again()
                self._drop(index)
                self._current = (index + 1) % len(self.endpoints)
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.5)
        return after_revision

    async def _watch_once(self, client: Any, prefix: str, after_revision: int,
                          remaining: float) -> int:
        await client.connect()
        key = prefix.encode()
        create = rpc.WatchCreateRequest(key=key, range_end=aetcd.utils.prefix_range_end(key),
                                        start_revision=after_revision + 1)
        hold = asyncio.Event()

        async def requests() -> AsyncIterator[Any]:
            yield rpc.WatchRequest(create_request=create)
            # Keep our side of the stream open: etcd ends a watch stream the client closes.
            await hold.wait()

        call = rpc.WatchStub(client.channel).Watch(requests(), timeout=remaining,
                                                   metadata=client.metadata)
        try:
            async for response in call:
                if response.compact_revision:
                    # History before our revision is gone: report "changed", the caller
                    # re-reads a snapshot anyway.
                    return max(int(response.header.revision), after_revision + 1)
                if response.canceled:
                    raise etcd_errors.ClientError(
                        f"watch cancelled by etcd: {response.cancel_reason}")
                if response.events:
                    return int(response.header.revision)
            raise etcd_errors.ConnectionFailedError("watch stream ended")
        except rpc.AioRpcError as error:
            if error.code() == rpc.StatusCode.DEADLINE_EXCEEDED:
                raise TimeoutError from error
            raise
        finally:
            hold.set()
            call.cancel()

    # -- lifetime --------------------------------------------------------------------

    async def close(self) -> None:
        self._closed = True
        clients = [*self._clients.values(), *self._retired.values()]
        self._clients.clear()
        self._retired.clear()
        await asyncio.gather(*(self._close_client(c) for c in clients))
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=1.0)


class _ChannelClosed(ConnectionError):
    """A call ended by ``CancelledError`` although nobody cancelled the calling task: its
    channel was closed under it."""


async def _not_cancelled(call: Awaitable[T]) -> T:
    """Await ``call``; a ``CancelledError`` that is not a cancellation of the current task
    (gRPC cancels the calls of a channel being closed) becomes a transient error."""
    try:
        return await call
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        raise _ChannelClosed("the call's channel was closed") from None


def _compare(key: str, target: int, **value: int) -> Any:
    return rpc.Compare(key=key.encode(), target=target, result=rpc.Compare.EQUAL, **value)


def _lease_id(lease: Lease | None) -> int:
    return 0 if lease is None else lease.id


def _transient(error: BaseException) -> bool:
    """This member cannot answer now (as opposed to a refused request)."""
    cause = _rpc_error(error)
    if cause is not None and _client_core_failed(cause):
        return True
    if isinstance(error, rpc.AioRpcError):
        return error.code() in _TRANSIENT_CODES
    return isinstance(error, _TRANSIENT)


def _client_core_failed(error: rpc.AioRpcError) -> bool:
    """INTERNAL from gRPC's own core, not from etcd: the stream could not even send
    (``Failed "execute_batch"``, a keepalive stream to a member that was just killed).
    The member is gone, not refusing: another one may answer."""
    return (error.code() == rpc.StatusCode.INTERNAL
            and "Internal error from Core" in (error.details() or ""))


def _credentials(files: TlsFiles) -> Any:
    ca, cert, key = files
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def _rpc_error(error: BaseException) -> rpc.AioRpcError | None:
    """The gRPC error behind ``error`` (aetcd wraps some in its ClientError)."""
    cause = error.__cause__ if isinstance(error, etcd_errors.ClientError) else error
    return cause if isinstance(cause, rpc.AioRpcError) else None


def _details(error: BaseException) -> str:
    cause = _rpc_error(error)
    return (cause.details() or "") if cause is not None else str(error)


def _bad_password(error: BaseException) -> bool:
    """etcd refused the user's password (a login)."""
    return "authentication failed" in _details(error)


def _refusal_kind(error: BaseException) -> str:
    detail = _details(error)
    if "authentication failed" in detail:
        return "password"
    return "permission" if "permission denied" in detail else "refused"


def _stale_token(error: BaseException) -> bool:
    """An authentication token etcd no longer knows (it restarted, the token timed out,
    the user's password changed), or one from before a change of its users and roles
    ("revision of auth store is old"): a fresh connection logs in again."""
    cause = _rpc_error(error)
    if cause is not None:
        details = cause.details() or ""
        return ((cause.code() == rpc.StatusCode.UNAUTHENTICATED
                 and "invalid auth token" in details)
                or "revision of auth store is old" in details)
    return "invalid auth token" in str(error)


TLS_SIGNS = ("certificate", "tsi_", "ssl_error", "ssl routines", "wrong_version_number")
"""What a TLS refusal says (a certificate not verified or not given, a server not
speaking TLS). Not a bare "handshake": a server that is hung, overloaded or behind a
dropped link fails a fresh connection's handshake too (``Handshake read failed
(Endpoint closing)``, the deadline closed it), and a question about certificates would
send the operator after the wrong cause in the middle of an outage."""


def _text(error: BaseException) -> str:
    if isinstance(error, rpc.AioRpcError):
        return f"{error.code().name.lower()}: {error.details()}"
    return str(error) or type(error).__name__


def _tls_refused(text: str) -> bool:
    return any(sign in text.lower() for sign in TLS_SIGNS)


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "no time left"
    if isinstance(error, TimeoutError):
        return "timed out"
    text = _text(error)
    if _tls_refused(text):
        return (f"the TLS handshake failed ({text}); is the server's certificate signed "
                "by the CA given with --store-ca, and does it name the address in --store? "
                "Does the server want a client certificate (--store-cert, --store-key)?")
    return text
