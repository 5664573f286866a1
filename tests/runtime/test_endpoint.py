"""The agent's HTTP endpoint (runtime/endpoint/): the tiny server on a real socket, and
an embedded cluster's per-node endpoints — /health, /groups/NAME for load balancers,
/metrics read back with prometheus_client's own parser — through a crash and a join."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import signal
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from partition_store import partitionable_hosts
from prometheus_client.parser import text_string_to_metric_families
from runtime_helpers import (
    SLEEPER,
    TWO_NODES,
    StubbornDriver,
    app_pid,
    eventually,
    free_vip,
    placement,
    quickstart,
    run,
    running,
    two_nodes,
)

from crg.dsl import parse
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.embedded import EmbeddedCluster
from crg.runtime.endpoint.server import (
    MAX_CLIENTS,
    MAX_PER_PEER,
    HttpAddressError,
    Response,
    bound_port,
    parse_address,
    serve,
)
from crg.runtime.launch import open_endpoints
from crg.runtime.operator import CLEANUP_STORE_RESET, CommandError
from crg.runtime.records import read_group

pytestmark = pytest.mark.timeout(90)


def get(address: str, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    host, port = parse_address(address)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path)
        reply = conn.getresponse()
        return reply.status, reply.read(), {k.lower(): v for k, v in reply.getheaders()}
    finally:
        conn.close()


async def aget(address: str, path: str) -> tuple[int, Any]:
    status, body, headers = await asyncio.to_thread(get, address, path)
    if headers["content-type"].startswith("application/json"):
        return status, json.loads(body)
    return status, body.decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, parsed by prometheus_client (as a scraper would)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


# -- the server ----------------------------------------------------------------------------


def test_addresses() -> None:
    assert parse_address("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("9100", "localhost", "::1:9100", "host:http", "1.2.3.4:70000", ":9100",
                "1.2.3.4:\u00b2", "1.2.3.4:\u0663"):  # digits to str.isdigit() only
        with pytest.raises(HttpAddressError):
            parse_address(bad)


def test_the_server_answers_get_and_head_and_refuses_the_rest() -> None:
    async def handler(path: str) -> Response:
        if path == "/boom":
            raise RuntimeError("a bug")
        return Response(200, f"you asked {path}".encode(), "text/plain")

    async def body() -> None:
        server = await serve("127.0.0.1", 0, handler)
        address = f"127.0.0.1:{bound_port(server)}"
        try:
            status, text, headers = await asyncio.to_thread(get, address, "/x%2Fy?q=1")
            assert (status, text) == (200, b"you asked /x/y")
            assert headers["connection"] == "close" and headers["content-length"] == "14"
            status, text, headers = await asyncio.to_thread(get, address, "/x", "HEAD")
            assert (status, text, headers["content-length"]) == (200, b"", "12")
            status, _, headers = await asyncio.to_thread(get, address, "/x", "POST")
            assert status == 405 and headers["allow"] == "GET, HEAD"
            status, _, _ = await asyncio.to_thread(get, address, "/boom")
            assert status == 500, "a failing handler is a 500, not a dead server"
            assert (await asyncio.to_thread(get, address, "/again"))[0] == 200

            def raw(data: bytes) -> bytes:
                with socket.create_connection(("127.0.0.1", bound_port(server)), 5) as s:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    return s.recv(1000)

            assert (await asyncio.to_thread(raw, b"nonsense\r\n\r\n")).startswith(
                b"HTTP/1.1 400 ")
            huge = b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n"
            assert (await asyncio.to_thread(raw, huge)).startswith(b"HTTP/1.1 431 ")
        finally:
            server.close()
            await server.wait_closed()

    run(body())


def test_a_flood_of_idle_connections_is_turned_away_and_the_server_still_answers() -> None:
    # Each idle connection would hold a descriptor for the whole read timeout: from one
    # address, beyond MAX_PER_PEER they are answered 429 at once and closed, and others
    # are still served (a tester's flood from one client made every load balancer's check
    # a 503); beyond MAX_CLIENTS in all, 503. Once the flood is gone the server answers
    # as before. (Every 127.0.0.0/8 address is this host's: one per client here.)
    async def handler(path: str) -> Response:
        return Response(200, b"ok", "text/plain")

    async def connect(port: int, source: str) -> tuple[asyncio.StreamReader,
                                                       asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))

    async def answer_of(port: int, source: str, request: bytes = b"") -> bytes:
        reader, writer = await connect(port, source)
        writer.write(request)
        async with asyncio.timeout(3):  # well before the idle ones' read timeout
            answer = await reader.read()
        writer.close()
        return answer

    async def body() -> None:
        server = await serve("127.0.0.1", 0, handler)
        port = bound_port(server)
        idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        get_x = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
        try:
            for _ in range(MAX_PER_PEER):
                idle.append(await connect(port, "127.0.0.2"))
            answer = await answer_of(port, "127.0.0.2")
            assert answer.startswith(b"HTTP/1.1 429 ") and b"Retry-After: 1" in answer
            # another client is served meanwhile
            assert (await answer_of(port, "127.0.0.3", get_x)).startswith(b"HTTP/1.1 200 ")
            for k in range(MAX_CLIENTS - MAX_PER_PEER):
                idle.append(await connect(port, f"127.0.0.{10 + k // MAX_PER_PEER}"))
            answer = await answer_of(port, "127.0.0.3")
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in answer
            # one whose request is already on its way gets the 503 too, not a reset (a
            # socket closed with unread data resets the connection)
            assert (await answer_of(port, "127.0.0.3", get_x)).startswith(b"HTTP/1.1 503 ")
            for _, w in idle:
                w.close()
            address = f"127.0.0.1:{port}"

            def answered() -> bool:
                return get(address, "/x")[0] == 200

            for _ in range(50):  # the idle ones are let go as their closes arrive
                if await asyncio.to_thread(answered):
                    break
                await asyncio.sleep(0.1)
            assert await asyncio.to_thread(answered)
        finally:
            server.close()
            await server.wait_closed()

    run(body())


# -- an embedded cluster's endpoints --------------------------------------------------------


def test_embedded_endpoints_follow_the_groups_through_a_crash(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)

    async def body() -> None:
        async with running(setup, observe=True) as cluster:
            servers = await open_endpoints(cluster.endpoints, "127.0.0.1:0")
            at = {n: e.address for n, e in cluster.endpoints.items()}
            assert all(at.values()) and len(set(at.values())) == 3
            try:
                await eventually(lambda: all(placement(cluster, g)[1:] == ("normal", "up")
                                             for g in ("web", "api", "report")),
                                 20, "every group up on its preferred node")
                for node in ("n1", "n2", "n3"):
                    status, health = await aget(at[node], "/health")
                    assert status == 200 and health["node"] == node, health
                    assert health["config_sha256"] == cluster.config_sha256
                codes = {n: (await aget(a, "/groups/web"))[0] for n, a in at.items()}
                assert codes == {"n1": 200, "n2": 503, "n3": 503}
                status, web = await aget(at["n1"], "/groups/web")
                assert web["serving"] and web["node"] == "n1" and web["mode"] == "normal"
                status, other = await aget(at["n2"], "/groups/web")
                assert not other["serving"] and "runs on n1" in other["reason"], other
                status, missing = await aget(at["n2"], "/groups/nope")
                assert status == 404 and missing["groups"] == ["api", "report", "web"]
                assert (await aget(at["n2"], "/nowhere"))[0] == 404

                _, text = await aget(at["n2"], "/metrics")
                found = samples(text)
                assert value(found, "crg_group_mode", group="web", mode="normal") == 1
                assert value(found, "crg_group_mode", group="web", mode="failover") == 0
                assert value(found, "crg_group_holder", group="web", node="n1") == 1
                assert value(found, "crg_group_holder", group="web", node="n2") == 0
                assert value(found, "crg_group_app_up", group="api") == 1
                assert value(found, "crg_group_restart_budget", group="web") == 2
                assert value(found, "crg_lease_valid") == 1
                assert value(found, "crg_config_info",
                             sha256=cluster.config_sha256) == 1
                assert value(found, "crg_store_reset_timestamp_seconds") == 0
                # A store that lost what it held is a gauge too, until the operator
                # clears its mark (crg cleanup --store-reset): a rule can page on it.
                mark = cluster.services.keys.reset()
                await cluster.store.put(mark, json.dumps({"since": 1764846123.5, "by": "n3",
                                                          "why": "test", "lost": ""}))
                _, text = await aget(at["n2"], "/metrics")
                assert value(samples(text), "crg_store_reset_timestamp_seconds") == \
                    1764846123.5
                answer = await cluster.command({"op": CLEANUP_STORE_RESET})
                assert answer["result"] == "done", answer
                _, text = await aget(at["n2"], "/metrics")
                assert value(samples(text), "crg_store_reset_timestamp_seconds") == 0
                assert value(found, "crg_lease_renew_seconds_count") > 0
                assert value(found, "target_info", cluster=setup.name, node="n2") == 1

                # n1 crashes: web fails over to n2, whose endpoint now answers for it.
                await cluster.crash("n1")
                await eventually(lambda: placement(cluster, "web") == ("n2", "failover",
                                                                       "up"), 20,
                                 "web up on n2")

                async def web_codes() -> dict[str, int]:
                    return {n: (await aget(a, "/groups/web"))[0] for n, a in at.items()}

                await eventually(lambda: _equal(web_codes(),
                                                {"n1": 503, "n2": 200, "n3": 503}),
                                 10, "/groups/web answers 200 on n2 only")
                status, health = await aget(at["n1"], "/health")
                assert status == 503 and health["status"] == "down", health
                _, text = await aget(at["n2"], "/metrics")
                found = samples(text)
                assert value(found, "crg_group_failovers_total", group="web") == 1
                assert value(found, "crg_group_mode", group="web", mode="failover") == 1
                assert value(found, "crg_node_status", node="n1", status="down") == 1
                assert value(found, "crg_node_drained", node="n1") == 0
                # Drained while down: status still says down, and the mark shows as well.
                answer = await cluster.operate("drain", ("n1",))
                assert answer["result"] == "accepted", answer
                found = samples((await aget(at["n2"], "/metrics"))[1])
                assert value(found, "crg_node_status", node="n1", status="down") == 1
                assert value(found, "crg_node_drained", node="n1") == 1
                assert value(found, "crg_node_drained", node="n2") == 0
                # report lost its standby n1: the last-node alert, raised by n3.
                await eventually(lambda: _metric(at["n3"], "crg_group_alerts_total",
                                                 group="report", kind="last-node", want=1),
                                 10, "n3 counted the last-node alert of report")
                await cluster.join("n1")
                await eventually(lambda: _equal(_health(at["n1"]), 200), 10,
                                 "n1 healthy again after joining")
            finally:
                for server in servers:
                    server.close()

    run(body(), 90)


def test_the_metrics_count_troubles_in_force_and_alert_deliveries(tmp_path: Path) -> None:
    """A step that keeps failing is a trouble in force on its node until it works; the
    alert it raised, and its end, are deliveries to the group's alert command."""
    setup = two_nodes(tmp_path, SLEEPER)
    driver = StubbornDriver()

    async def body() -> None:
        async with running(setup, driver, observe=True) as cluster:
            servers = await open_endpoints(cluster.endpoints, "127.0.0.1:0")
            n1 = cluster.endpoints["n1"].address
            try:
                await eventually(lambda: _metric(n1, "crg_runtime_troubles", group="job",
                                                 want=1), 15, "acquire-vip failing on n1")
                _, text = await aget(n1, "/metrics")
                assert value(samples(text), "crg_runtime_troubles", group="") == 0
                driver.failing = False
                await eventually(lambda: _metric(n1, "crg_runtime_troubles", group="job",
                                                 want=0), 15, "acquire-vip works again")
                # The alert and its end, each delivered to the alert command once.
                await eventually(lambda: _metric(n1, "crg_alert_deliveries_total",
                                                 sink="command", result="delivered", want=2),
                                 15, "both deliveries counted")
            finally:
                for server in servers:
                    server.close()

    run(body(), 60)


def test_a_switchover_to_the_preferred_node_is_counted(tmp_path: Path) -> None:
    """``crg switchover job n1`` back to its preferred node is an operator switchover too
    (README): it was left out, a claim of the preferred node being taken for a start."""
    setup = two_nodes(tmp_path, SLEEPER)  # failback manual: job stays on n2 until told

    async def body() -> None:
        async with running(setup, observe=True) as cluster:
            servers = await open_endpoints(cluster.endpoints, "127.0.0.1:0")
            at = {n: e.address for n, e in cluster.endpoints.items()}
            try:
                await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                                 15, "job up on n1")
                for node, mode in (("n2", "failover"), ("n1", "normal")):
                    answer = await cluster.operate("switchover", ("job", node))
                    assert answer["result"] == "accepted", answer
                    await eventually(lambda n=node, m=mode: placement(cluster, "job")
                                     == (n, m, "up"), 15, f"job switched over to {node}")
                for node in ("n1", "n2"):
                    found = samples((await aget(at[node], "/metrics"))[1])
                    assert value(found, "crg_group_switchovers_total", group="job") == 1
                    assert value(found, "crg_group_failovers_total", group="job") == 0
            finally:
                for server in servers:
                    server.close()

    run(body(), 60)


def test_agents_cut_off_from_the_store_stop_saying_where_groups_run(
        tmp_path: Path) -> None:
    """The tester killed etcd: every application was fenced, yet every agent's gauges
    and /groups bodies went on saying job was up on n1, so CrgGroupNotServing (max by
    (group) (crg_group_app_up) == 0) never fired. A view older than a lease is not passed
    on: the applications read 0, the holder, mode and node gauges are withdrawn, the
    view's age is a gauge, and /groups/job says where job runs is unknown; once the
    store answers again, the gauges come back."""
    vip = free_vip(random.Random(uuid.uuid4().int))
    text = TWO_NODES.format(name=f"stale{uuid.uuid4().hex[:8]}", vip=vip, app=SLEEPER,
                            restarts=1, window="1m", alert="alert log")
    hosts = partitionable_hosts(parse(text, "stale.crg"), tmp_path, observe=True)
    lease_s = hosts.hosts["n1"].config.cluster.lease_ms / 1000

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        servers = []
        for host in hosts.hosts.values():
            servers += await open_endpoints(host.endpoints, "127.0.0.1:0")
        at = {n: h.endpoints[n].address for n, h in hosts.hosts.items()}

        async def scrape(node: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            return samples((await aget(at[node], "/metrics"))[1])

        async def app_up(want: float) -> bool:
            seen = [value(await scrape(n), "crg_group_app_up", group="job") for n in at]
            return seen == [want] * len(at)

        try:
            await eventually(lambda: app_up(1), 15, "job up, as both agents see it")
            found = await scrape("n2")
            assert value(found, "crg_group_holder", group="job", node="n1") == 1
            assert value(found, "crg_view_age_seconds") < lease_s
            for view in hosts.views.values():  # etcd stops: nobody reaches it
                view.cut = True
            await eventually(lambda: app_up(0), 15, "no agent says job is up")
            for node in at:
                found = await scrape(node)
                assert value(found, "crg_view_age_seconds") > lease_s
                for name in ("crg_group_holder", "crg_group_mode", "crg_node_status",
                             "crg_group_switching_enabled"):
                    assert not [k for k in found if k[0] == name], (node, name)
                assert value(found, "crg_lease_valid") == 0
                status, answer = await aget(at[node], "/groups/job")
                assert status == 503 and not answer["serving"], answer
                assert "where job runs is unknown here" in answer["reason"], answer
                assert "mode" not in answer and "app" not in answer, answer
            for view in hosts.views.values():
                view.cut = False
            await eventually(lambda: app_up(1), 20, "job up again, as both agents see it")
            found = await scrape("n1")
            assert value(found, "crg_view_age_seconds") < lease_s
            assert sum(value(found, "crg_group_holder", group="job", node=n)
                       for n in at) == 1
        finally:
            for view in hosts.views.values():
                view.cut = False  # a failed assertion must not also leave the hosts cut
            for server in servers:
                server.close()
            await hosts.stop()

    run(body(), 60)


def test_a_groups_body_has_the_failure_record_that_status_shows(tmp_path: Path) -> None:
    """README: the body of /groups/NAME is the group's entry of ``crg status --json`` (plus
    serving, reason, node_asked) — its bans until when, the restart window's end and the
    last fault too, which came back null while the endpoint read the spec's state alone."""
    setup = two_nodes(tmp_path, SLEEPER, restarts=0)

    async def body() -> None:
        async with running(setup, observe=True) as cluster:
            servers = await open_endpoints(cluster.endpoints, "127.0.0.1:0")
            n2 = cluster.endpoints["n2"].address
            try:
                await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                                 20, "job up on n1")
                pid = app_pid(cluster, "n1", "job")
                assert pid is not None
                os.kill(pid, signal.SIGKILL)  # no restart in the budget: banned on n1
                await eventually(lambda: placement(cluster, "job") == ("n2", "failover",
                                                                       "up"), 20, "job on n2")
                status = await cluster.status()
                entry = next(g for g in status["groups"] if g["group"] == "job")
                code, served = await aget(n2, "/groups/job")
                assert code == 200 and served["serving"], served
                assert [b["node"] for b in entry["banned"]] == ["n1"]
                assert entry["last_fault"] is not None and entry["last_fault"]["node"] == "n1"
                ends = entry["restarts"]["window_ends"]
                assert isinstance(ends, float)
                # The window's end is read off a clock at each reading: the same to a
                # fraction of a second.
                assert served["restarts"] == {**entry["restarts"],
                                              "window_ends": pytest.approx(ends, abs=1.0)}
                assert served["banned"] == [{"node": "n1",
                                             "until": pytest.approx(ends, abs=1.0)}]
                assert served["last_fault"] == entry["last_fault"]
            finally:
                for server in servers:
                    server.close()

    run(body(), 60)


def test_a_fault_quoting_a_monitor_url_keeps_its_secrets(tmp_path: Path) -> None:
    """The fault of an http monitor with a password and a token in its URL: /groups/NAME
    (served to the network, without authentication) answered them in ``last_fault``, and
    the store's group record held them, while crg status showed ``***``."""
    setup = two_nodes(tmp_path, '    start "python3 -c \'import time; time.sleep(120)\'" '
                      'timeout 1s', restarts=0)
    text = setup.path.read_text().replace(
        "  monitor process every 200ms fails 2",
        '  monitor http "http://bob:hunter2@{vip}:9/x?token=TOPSECRET" every 200ms')
    setup.path.write_text(text)
    setup.config = parse(text, str(setup.path))

    async def body() -> None:
        async with running(setup, observe=True) as cluster:
            servers = await open_endpoints(cluster.endpoints, "127.0.0.1:0")
            n2 = cluster.endpoints["n2"].address
            try:
                await eventually(lambda: any(r["event"] == "fault" for r in
                                             cluster.services.events.records), 30,
                                 "the start timed out: a fault")
                _, served = await aget(n2, "/groups/job")
                assert served["last_fault"] is not None, served
                shown = json.dumps(served)
                assert "hunter2" not in shown and "TOPSECRET" not in shown, shown
                assert "http://***@" in served["last_fault"]["reason"]
                snap = await cluster.store.snapshot(cluster.services.keys.prefix)
                stored = read_group(snap, cluster.services.keys, "job")["fault_reason"]
                assert "hunter2" not in stored and "TOPSECRET" not in stored, stored
            finally:
                for server in servers:
                    server.close()

    run(body(), 60)


async def _equal(value: Any, want: Any) -> bool:
    return bool(await value == want)


async def _health(address: str) -> int:
    return (await aget(address, "/health"))[0]


async def _metric(address: str, name: str, *, want: float, **labels: str) -> bool:
    """Whether the sample is ``want`` now (a counter not yet counted has no sample)."""
    _, text = await aget(address, "/metrics")
    return samples(text).get((name, tuple(sorted(labels.items())))) == want


def test_an_endpoint_that_cannot_listen_is_refused_whole(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)

    async def body() -> None:
        cluster = EmbeddedCluster(setup.config, run_dir=setup.run_dir,
                                  address=LoopbackDriver(), events=EventLog(), observe=True)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            base = taken.getsockname()[1] - 1  # n1 gets base, n2's port is taken
            with pytest.raises(CommandError, match=rf"--http 127.0.0.1:{base}: cannot "
                                                   rf"listen on 127.0.0.1:{base + 1} for n2"):
                await open_endpoints(cluster.endpoints, f"127.0.0.1:{base}")
        with socket.socket() as probe:  # n1's server was closed again
            probe.bind(("127.0.0.1", base))

    run(body())


def test_the_modes_of_crg_group_mode_are_the_ones_the_readme_and_help_name() -> None:
    """The gauge has a series for every mode of the spec; the README's table and the
    metric's HELP left out ``blocked``, so an alert on it was never written."""
    from crg.dsl import load
    from crg.runtime.endpoint.metrics import Metrics
    from crg.spec import Model
    from crg.spec.present.modes import Mode

    modes = {m.value for m in Mode}
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `crg_group_mode`"))
    named = set(row.split("(", 1)[1].split(")", 1)[0].replace("`", "").split(", "))
    assert named == modes, row
    config = load(root / "examples" / "quickstart.crg")
    metrics = Metrics(config, Model.from_config(config, compiled=False), "n1")
    (family,) = [f for f in metrics.registry.collect() if f.name == "crg_group_mode"]
    listed = set(family.documentation.split("(", 1)[1].split(")", 1)[0].split(", "))
    assert listed == modes, family.documentation


def test_every_metric_of_an_agent_is_in_the_readme() -> None:
    """The README's table of metrics is what an operator writes dashboards and alerts
    from: a gauge added without a row there (the start wait's) would go unseen."""
    from crg.dsl import load
    from crg.runtime.endpoint.metrics import Metrics
    from crg.spec import Model

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    table = [line for line in readme.split("**Metrics.**", 1)[1].split("\n\n", 2)[1]
             .splitlines() if line.startswith("| `")]
    named = {name for line in table for name in line.split("|")[1].replace("`", "")
             .replace(",", " ").split()}
    config = load(root / "examples" / "quickstart.crg")
    metrics = Metrics(config, Model.from_config(config, compiled=False), "n1")
    exposed = {family.name + ("_total" if family.type == "counter" else "")
               for family in metrics.registry.collect()} - {"target"}
    assert exposed - named == set(), exposed - named
    assert "crg_start_wait_remaining_seconds" in exposed and "target_info" in named
