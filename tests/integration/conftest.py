"""Fixtures for the multi-host tests: real etcd members, network namespaces."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_server import EtcdCluster, etcd_available
from loopback_agents import Agents
from netbed import NetBed, unavailable_reason


def _need_etcd() -> None:
    if not etcd_available():
        pytest.skip("needs Debian's etcd-server (/usr/bin/etcd); .ci/test installs it")


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One etcd member on loopback shared by a module's tests (they use distinct keys)."""
    _need_etcd()
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def own_etcd(tmp_path: Path) -> Iterator[EtcdCluster]:
    """A member of the test's own, for tests that kill and restart it."""
    _need_etcd()
    cluster = EtcdCluster(tmp_path)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def agents(etcd: EtcdCluster, tmp_path: Path) -> Iterator[Agents]:
    """Agents of a cluster of the test's own name on the module's etcd; all stopped."""
    found = Agents(etcd, tmp_path, f"agree{os.getpid()}{time.monotonic_ns() % 10**6}")
    try:
        yield found
    finally:
        found.stop_all()


@pytest.fixture
def etcd3(tmp_path: Path) -> Iterator[EtcdCluster]:
    """Three members on loopback (distinct ports)."""
    _need_etcd()
    cluster = EtcdCluster(tmp_path, hosts=("127.0.0.1",) * 3)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[NetBed]:
    """The namespace LAN (no etcd started): always torn down, even when the test fails."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    netbed = NetBed(tmp_path)
    try:
        yield netbed.create()
    finally:
        netbed.destroy()
