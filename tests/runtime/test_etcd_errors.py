"""Which etcd call failures are the member's absence (try another member) and which are a
refusal (runtime/store/etcd.py ``_transient``): a keepalive stream to a member that was
just killed fails inside gRPC's own core with INTERNAL — absence, not refusal (it made
tests/integration/test_etcd_store.py::test_moves_to_another_member fail: 'etcd refused a
lease keepalive: Internal error from Core')."""

from __future__ import annotations

import aetcd.exceptions as etcd_errors
import grpc
from grpc.aio import AioRpcError, Metadata

from crg.runtime.store.etcd import _transient


def rpc_error(code: grpc.StatusCode, details: str) -> AioRpcError:
    return AioRpcError(code, Metadata(), Metadata(), details=details)


def wrapped(error: AioRpcError) -> etcd_errors.ClientError:
    """As aetcd raises it: its own exception, the gRPC error as the cause."""
    try:
        raise etcd_errors.InternalError(error.details()) from error
    except etcd_errors.InternalError as client_error:
        return client_error


def test_a_stream_that_could_not_send_is_the_members_absence() -> None:
    core = rpc_error(grpc.StatusCode.INTERNAL, "Internal error from Core")
    assert _transient(core) and _transient(wrapped(core))


def test_an_internal_error_of_etcd_itself_is_a_refusal() -> None:
    etcd = rpc_error(grpc.StatusCode.INTERNAL, "etcdserver: corrupt cluster")
    assert not _transient(etcd) and not _transient(wrapped(etcd))
    assert _transient(rpc_error(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    assert not _transient(rpc_error(grpc.StatusCode.PERMISSION_DENIED, "denied"))
