"""Bridges to the cluster managers already installed: Pacemaker and keepalived.

``crg export pacemaker`` maps a configuration onto a Pacemaker CIB (or a ``pcs`` script);
``crg import pacemaker`` and ``crg import keepalived`` write a ``.crg`` file from an
existing configuration, so that ``crg check`` and ``crg simulate`` can judge it. One
module per direction and format; what maps and why is in README.md ("Using crg with
Pacemaker or keepalived"). These are command-layer features: nothing in ``spec/``,
``checker/`` or ``runtime/`` imports them.
"""
