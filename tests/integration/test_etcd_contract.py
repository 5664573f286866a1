"""The runtime's store contract suite (tests/runtime/store_contract.py), run against a
real etcd: the etcd store must behave exactly like the memory store the runtime is
tested with."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_server import EtcdCluster

from crg.runtime.store.base import Store
from crg.runtime.store.etcd import EtcdStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from store_contract import StoreContract


class TestEtcdContract(StoreContract):
    ttl_ms = 2000  # etcd's minimum lease
    slack_s = 1.5  # etcd checks expiry every 500 ms and counts whole seconds
    url = ""

    @pytest.fixture(autouse=True)
    def _server(self, etcd: EtcdCluster) -> Iterator[None]:
        type(self).url = etcd.url
        yield

    async def open(self) -> Store:
        return EtcdStore.from_url(self.url)
