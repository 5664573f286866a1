"""``crg run``: put a runtime in the foreground until Ctrl-C or SIGTERM.

Logs go to standard error (rich on a terminal); with ``--json`` standard output carries
the event stream as JSON lines. The first Ctrl-C/SIGTERM drains every node — groups halt
in order — and once everything stopped (bounded) exits 130 for Ctrl-C, 0 for SIGTERM (a
service stop); a second Ctrl-C kills what is left at once and exits 130, a second SIGTERM
changes nothing (it asks for the stop under way). SIGHUP (a closed
terminal, or an operator expecting a reload) is logged and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crg.dsl.model import Config
from crg.runtime import control, logs, rundir
from crg.runtime.address.base import AddressDriver
from crg.runtime.address.ledger import LedgerDriver
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.address.null import NullDriver
from crg.runtime.drivers.process import run_dir_mark, sweep_run_dir
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.endpoint.server import bound_port, format_address, parse_address
from crg.runtime.endpoint.server import serve as serve_http
from crg.runtime.logsink import LogSink
from crg.runtime.records import RecordError
from crg.runtime.store.access import AccessError, StoreAccess, check, redact_url
from crg.runtime.store.base import Store, StoreError
from crg.runtime.systemd import Notifier

if TYPE_CHECKING:  # the endpoint (prometheus-client) loads only when crg run starts
    from crg.runtime.endpoint.routes import NodeEndpoint

if TYPE_CHECKING:
    from crg.runtime.embedded import EmbeddedCluster
    from crg.runtime.host import HostRuntime

log = logging.getLogger("crg.runtime")

ADDRESS_DRIVERS = ("loopback", "null", "linux")


@dataclass(frozen=True)
class Options:
    run_dir: Path
    address: str = "loopback"
    trace: Path | None = None
    events: Path | None = None
    json: bool = False
    node: str | None = None
    store: str | None = None
    verbose: bool = False
    default_run_dir: bool = False
    """``run_dir`` is the default one (under :func:`crg.runtime.rundir.base_dir`, which
    is then made safe too)."""
    store_access: StoreAccess | None = None
    """TLS files and credentials for ``--store``."""
    garp_refresh_s: float | None = None
    """Announce held VIPs again this often (``--garp-refresh``; Linux driver only)."""
    start_wait_s: float = 0.0
    """At a cold start, how long the agent waits for the other nodes to register before
    it acts (``--start-wait``; one agent per host only)."""
    http: str | None = None
    """``HOST:PORT`` of the HTTP endpoint (README, "The HTTP endpoint"); embedded, node
    i of the configuration gets PORT + i."""


def setup_logging(verbose: bool, fmt: str = "auto") -> LogSink:
    return logs.setup_logging(verbose, fmt)


def log_sink() -> LogSink | None:
    """The log output :func:`setup_logging` installed, if any."""
    return next((h for h in logging.getLogger("crg").handlers if isinstance(h, LogSink)),
                None)


def address_driver(name: str, node: str | None = None,
                   refresh_s: float | None = None) -> AddressDriver:
    """``refresh_s``: the Linux driver's announcement refresh (``--garp-refresh``)."""
    if name == "loopback":
        return LoopbackDriver()
    if name == "null":
        return NullDriver()
    # Imported here: it needs pyroute2 (the 'linux' extra) and CAP_NET_ADMIN to act.
    from crg.runtime.address.linux import LinuxAddressDriver

    return LinuxAddressDriver(node, refresh_s=refresh_s)


EXTRA = "linux"
"""The optional dependencies (pyproject.toml) that several hosts need: pyroute2, aetcd."""
INSTALL_HINT = f"pip install 'crg[{EXTRA}]'"


def missing_extra(module: str, what: str) -> str | None:
    """Why ``module`` cannot be imported, as an operator's message naming the extra that
    brings what it needs (None when it can): asked before anything starts."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        return (f"{what} needs the Python package {exc.name or 'of the linux extra'}, "
                f"which is not installed: {INSTALL_HINT}")
    return None


def store_problem(url: str, access: StoreAccess | None = None) -> str | None:
    """Why ``--store URL`` (with ``access``: TLS files, credentials) cannot be used (None
    when it can, as far as can be told without contacting it). Never repeats a password
    written into the URL."""
    shown = redact_url(url)
    if not url.startswith(("etcd://", "etcds://")):
        return (f"--store {shown}: unknown store; several hosts share an etcd store "
                "(--store etcd://HOST:PORT,..., or etcds:// for TLS)")
    problem = missing_extra("crg.runtime.store.etcd", f"--store {shown}")
    if problem is not None:
        return problem
    from crg.runtime.store.etcd import is_tls_url, parse_etcd_url

    try:
        parse_etcd_url(url)
    except ValueError as exc:
        return f"--store: {exc} (expected etcd://HOST:PORT[,HOST:PORT...], etcds:// for TLS)"
    try:
        check(dataclasses.replace(access or StoreAccess(), tls=is_tls_url(url)))
    except AccessError as exc:
        return str(exc)
    return None


def open_store(url: str, timeout_ms: int, access: StoreAccess | None = None) -> Store:
    """The coordination store shared by the hosts (``etcd[s]://host:port,...``)."""
    problem = store_problem(url, access)
    if problem is not None:
        raise StoreError(problem)
    # Imported here: it needs aetcd (the 'linux' extra).
    from crg.runtime.store.etcd import EtcdStore

    return EtcdStore.from_url(url, timeout_ms, access)


def address_problems(config: Config, driver: AddressDriver) -> list[str]:
    if not isinstance(driver, LedgerDriver):
        return []
    out = []
    for g in config.groups:
        if (why := driver.accepts(g.vip)) is not None:
            at = g.where("vip")  # where to change it: file:line:col, as every config error
            out.append(f"{config.source.path}:{at.line}:{at.column}: group {g.name}: {why}")
    return out


async def serve(config: Config, options: Options) -> int:
    """Run until a signal, holding the run directory; the exit code. RunDirError: the
    run directory is not safe to use, or another runtime holds it."""
    run_dir = rundir.prepare(options.run_dir, default=options.default_run_dir)
    try:
        return await _serve(config, options, run_dir)
    finally:
        run_dir.release()


def sweep_orphans(run_dir: Path) -> None:
    """Kill what an earlier runtime on this run directory left running (it was killed
    with SIGKILL, or its machine lost power), before any group starts here: otherwise
    each orphan is found only when its group's watchdog retires, after it has cost a
    restart (its port taken, the new instance fails)."""
    swept = sweep_run_dir(run_dir)
    if swept:
        log.warning("killed %d process(es) left by an earlier runtime on %s: %s", len(swept),
                    run_dir, ", ".join(f"{pid} ({mark})" for pid, mark in swept))


async def sweep_leftovers(run_dir: Path) -> None:
    """After an orderly stop, kill what is still marked with this run directory: a hook,
    an alert command or a check that daemonised (``setsid``) escaped the process group
    its time limit killed, and carries no group mark for a watchdog to find — it would
    outlive a runtime that promises to exit with no process left behind. Every group is
    halted by now, so nothing marked is wanted."""
    try:
        swept = await asyncio.to_thread(sweep_run_dir, run_dir)
    except OSError as exc:  # no descriptor, no memory: say where to look
        log.error("could not look for processes left on %s (%s): look for CRG_RUN_DIR=%s "
                  "in their environment", run_dir, exc.strerror or exc, run_dir_mark(run_dir))
        return
    if swept:
        log.warning("killed %d process(es) left running by hooks, alert or other commands "
                    "on %s: %s", len(swept), run_dir,
                    ", ".join(f"{pid} ({mark})" for pid, mark in swept))


async def _serve(config: Config, options: Options, run_dir: rundir.RunDir) -> int:
    from crg.runtime.embedded import EmbeddedCluster
    from crg.runtime.host import HostRuntime
    from crg.runtime.operator import CommandError

    socket_path = run_dir.socket
    sweep_orphans(run_dir.path)
    events = EventLog(options.events, stdout=options.json)
    log_output = log_sink()
    if log_output is not None:  # before anything writes: its first failure is told too
        log_output.attach(events.board)
    driver = address_driver(options.address, options.node, options.garp_refresh_s)
    runtime: EmbeddedCluster | HostRuntime
    if options.node is None:
        assert isinstance(driver, LedgerDriver), "the embedded runtime holds VIPs itself"
        runtime = EmbeddedCluster(config, run_dir=options.run_dir, address=driver,
                                  events=events, trace_path=options.trace,
                                  observe=options.http is not None)
    else:
        store = open_store(options.store or "", config.cluster.store_timeout_ms,
                           options.store_access)
        if options.store_access is not None and options.store_access.user and \
                not options.store_access.tls:
            log.warning("--store-user over etcd://: the password crosses the network "
                        "unencrypted; use etcds:// (TLS)")
        # The fencing watchdog removes real addresses only; with the others it still kills
        # the applications of an agent that died.
        runtime = HostRuntime(config, options.node, store=store, address=driver,
                              run_dir=options.run_dir, events=events,
                              trace_path=options.trace,
                              watchdog="linux" if options.address == "linux" else "none",
                              observe=options.http is not None,
                              start_wait_s=options.start_wait_s)
    stop = asyncio.Event()
    signals = 0
    notifier = Notifier()
    notifier.status(f"starting: {runtime.summary()}")

    # Ctrl-C, not SIGTERM, asked for the stop: the drain is the same, the exit is 130 (an
    # interrupted command, as everywhere in crg); SIGTERM is a service stop and exits 0.
    interrupted = False

    def on_signal(sig: signal.Signals) -> None:
        nonlocal signals, interrupted
        signals += 1
        if signals == 1:
            interrupted = sig is signal.SIGINT
            # With --node only this host's node drains: "every node" there would read as
            # the whole cluster going down.
            draining = options.node or "every node"
            # A service manager's SIGTERM has no second Ctrl-C to offer: say what would
            # cut the drain short there (SIGINT, or SIGKILL, which leaves the applications).
            again = ("Ctrl-C again" if interrupted else
                     f"SIGINT (kill -INT {os.getpid()})")
            log.info("stopping: draining %s (%s to kill everything at once)", draining, again)
            notifier.stopping(f"stopping: draining {draining}")
            stop.set()
        elif sig is signal.SIGINT:
            raise_now.set()
        else:
            # SIGTERM asks for an orderly stop, however often it comes (an impatient
            # kill, a supervisor that repeats it): only Ctrl-C (or SIGKILL) cuts it short.
            log.warning("already stopping: the drain goes on (Ctrl-C, SIGINT, to kill "
                        "everything at once)")

    def on_hangup() -> None:
        log.warning("SIGHUP ignored: crg run does not reload its configuration (to apply "
                    "a new one, stop it with SIGTERM and start it on the new file); the "
                    "cluster service goes on")

    raise_now = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The loop's handlers replace the command's (Ctrl-C 130, SIGTERM 143) while the
    # cluster runs; removing them would leave Python's defaults, so they are put back.
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in before:
        loop.add_signal_handler(sig, on_signal, sig)
    # SIGHUP would end the process at once by default and leave every application
    # running, unmanaged: a terminal that closes, or an operator used to a reload.
    # Neither is a reason to stop the cluster service, and there is no reload to do.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup's stands
        before[signal.SIGHUP] = signal.getsignal(signal.SIGHUP)
        loop.add_signal_handler(signal.SIGHUP, on_hangup)
    server = await control.serve(socket_path, answering(runtime), (CommandError,))
    started = stopped = False
    endpoints: list[asyncio.Server] = []
    pinger: asyncio.Task[None] | None = None
    try:
        if options.http is not None:
            endpoints = await open_endpoints(runtime.endpoints, options.http)
        await runtime.start()
        started = True
        nodes, groups = len(config.cluster.nodes), len(config.groups)
        log.info("cluster %s running: %d node%s, %d group%s; control socket %s",
                 config.cluster.name, nodes, "" if nodes == 1 else "s", groups,
                 "" if groups == 1 else "s", socket_path)
        if notifier.active:
            notifier.ready(f"running: {runtime.summary()}")
            pinger = asyncio.create_task(notifier.keep_alive(
                runtime.alive, lambda: f"running: {runtime.summary()}"))
        await stop.wait()
        if pinger is not None:
            # Pings go on while draining (it takes a while, and the loop is alive), but
            # STATUS= must keep saying "stopping".
            pinger.cancel()
            pinger = asyncio.create_task(notifier.keep_alive(runtime.alive))
        shutdown = asyncio.create_task(runtime.shutdown())
        forced = asyncio.create_task(raise_now.wait())
        done, _ = await asyncio.wait({shutdown, forced}, return_when=asyncio.FIRST_COMPLETED)
        if shutdown in done:
            forced.cancel()
            clean = shutdown.result()
            stopped = True
            await sweep_leftovers(run_dir.path)
            log.info("stopped%s", "" if clean else " (some groups had to be killed)")
            return 130 if interrupted else 0
        shutdown.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await shutdown
        await kill_everything(runtime, config, driver)
        stopped = True
        log.warning("interrupted again: everything killed")
        return 130
    except Exception:
        if not started:
            raise  # nothing runs yet: the command line reports it (exit 2)
        # A bug: whatever it was, the applications must not outlive the runtime.
        log.exception("the runtime failed: killing everything it started")
        return INTERNAL_ERROR
    finally:
        if started and not stopped:
            await kill_everything(runtime, config, driver)
        if pinger is not None:
            pinger.cancel()
        server.close()
        for endpoint in endpoints:
            endpoint.close()
        with contextlib.suppress(OSError):
            socket_path.unlink()
        events.close()
        if log_output is not None:
            log_output.detach()
        close = getattr(driver, "close", None)
        if close is not None:  # pending announcements and refreshes
            await close()
        for sig, handler in before.items():
            loop.remove_signal_handler(sig)
            if handler is not None:  # None: not installed from Python; nothing to restore
                signal.signal(sig, handler)


INTERNAL_ERROR = 3
"""The exit code of a bug (the command line's ExitCode.INTERNAL, which this layer may not
import)."""


def answering(runtime: EmbeddedCluster | HostRuntime) -> control.Handler:
    """The runtime's control API, where a record in the store that cannot be read is an
    answer that says so (not a connection closed on the client)."""
    from crg.runtime.operator import CommandError

    name = runtime.config.cluster.name

    async def answer(request: Mapping[str, Any]) -> dict[str, Any]:
        # A client given --cluster sends the name: the run directory chose this runtime
        # (--run-dir, or the cluster's own under the default base, where a link could
        # lead elsewhere), and a command meant for another cluster must not be done.
        wanted = request.get("cluster")
        if wanted is not None and wanted != name:
            shown = control.printable(str(wanted))
            raise CommandError(f"the runtime at this run directory runs cluster '{name}', "
                               f"not '{shown}': the run directory and --cluster name "
                               "different runtimes; nothing was done")
        try:
            return await runtime.command(request)
        except RecordError as exc:
            raise CommandError(f"the store holds a record this runtime cannot read: {exc}; "
                               "nothing can be decided until it is readable again (each "
                               "agent tries every second, and raised a runtime alert)"
                               ) from None
    return answer


LAST_ALERTS_S = 3.0
"""How long killing everything at once waits for the alerts it raised."""


async def kill_everything(runtime: EmbeddedCluster | HostRuntime, config: Config,
                          driver: AddressDriver) -> None:
    """Stop every agent and kill what they started at once, releasing every VIP: the
    second Ctrl-C, or a runtime that failed."""
    for agent in list(runtime.agents.values()):
        with contextlib.suppress(Exception):
            await agent.halt()
        agent.machine.kill_all()
        for group in config.groups:
            with contextlib.suppress(Exception):
                await driver.remove(group.vip, agent.name)
    # Killed first, then a short wait for the alerts that raised (processes that may
    # have escaped): whoever pressed Ctrl-C twice wants out, but not in silence.
    await asyncio.gather(*(agent.machine.settle(LAST_ALERTS_S)
                           for agent in list(runtime.agents.values())))


def flush_logging(timeout_s: float = 2.0) -> None:
    """Write what the log still holds (bounded): before ``crg run`` exits."""
    output = log_sink()
    if output is not None:
        output.drain(timeout_s)


async def open_endpoints(endpoints: Mapping[str, NodeEndpoint], address: str
                         ) -> list[asyncio.Server]:
    """Listen for each node's endpoint: node i (in the configuration's order) on PORT + i
    of ``--http HOST:PORT`` (port 0: a port of the kernel's choosing for each). Raises
    CommandError naming the address when one cannot be had; none is left open then."""
    from crg.runtime.operator import CommandError

    host, base = parse_address(address)
    servers: list[asyncio.Server] = []
    for i, (node, endpoint) in enumerate(endpoints.items()):
        port = base + i if base else 0
        try:
            if port > 65535:
                raise OSError(f"port {port} is out of range")
            server = await serve_http(host, port, endpoint.handle)
        except OSError as exc:
            for opened in servers:
                opened.close()
            raise CommandError(f"--http {address}: cannot listen on "
                               f"{format_address(host, port)} for {node}: "
                               f"{exc.strerror or exc}") from None
        servers.append(server)
        endpoint.address = format_address(host, bound_port(server))
        log.info("%s: HTTP endpoint on http://%s/ (/metrics, /health, /groups/NAME)",
                 node, endpoint.address)
    return servers
