"""Each agent's read-only HTTP endpoint (``crg run --http HOST:PORT``): Prometheus
``/metrics``, ``/health`` and ``/groups/NAME`` for load balancers (README, "The HTTP
endpoint")."""
