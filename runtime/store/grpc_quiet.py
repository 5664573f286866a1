"""``grpc`` (through ``aetcd``), imported with the standard-error logging of its C core
turned off.

gRPC's core writes lines of its own to file descriptor 2 (``E1203 12:00:00 ...
ssl_transport_security_utils.cc:115] Corruption detected.`` for a server that wanted a
client certificate): outside crg's log, they break ``--log-format json`` (one JSON object
per line) and the journal's priorities, and they mislead, since crg says what went wrong
in its own sentence (runtime/store/etcd.py). The core reads ``GRPC_VERBOSITY`` once, when
``grpc`` is imported, so it is set for that import only — an operator's own value wins —
and taken out again before any application, hook or alert command inherits it.

Imported by runtime/store/etcd.py before anything else of gRPC's.
"""

from __future__ import annotations

import os

VARIABLE = "GRPC_VERBOSITY"

_asked = VARIABLE in os.environ
os.environ.setdefault(VARIABLE, "NONE")
try:
    # aetcd imports grpc; importing it here names aetcd, the package to install, when the
    # linux extra is missing (launch.missing_extra), as etcd.py's own import would.
    import aetcd  # noqa: F401  -- only its import, with the variable above
finally:
    if not _asked:
        os.environ.pop(VARIABLE, None)
