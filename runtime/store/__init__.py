"""Coordination stores (memory, etcd)."""
