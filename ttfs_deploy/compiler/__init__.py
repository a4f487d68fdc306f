"""Compile: hardware profiles, quantisation, mapping onto cores and design-rule checks keyed by target.

Owns: ``hardware`` (the profiles, shipped as package data in ``hardware_profiles/``), ``quantize``
(float IR → integer IR, calibrated with the spec in ``ttfs_deploy.semantics``), ``mapping`` (placement
and the named rules a target's limits impose), ``pipeline`` (checkpoint/artifact → compiled network).

May import: ``ir``, ``semantics``, ``coding``, ``data``, ``errors``, ``fileio``; ``train.checkpoint``
lazily, only to read a ``.pt``. Never a backend, never Lava.
"""
