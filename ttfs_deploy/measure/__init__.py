"""Measure: golden traces, spike/op/energy costs, budgets, reports and the seed-000 claims.

Owns: ``trace`` (record/compare per-layer spike times), ``costs`` (spikes, synaptic ops, neuron
updates, energy under a hardware profile — the CLI's ``profile`` command), ``budget`` (pass/fail
limits), ``report`` (HTML/Markdown/JSON with plots), ``claims``; ``rate_costs`` (the same counts and
energy from a rate-coded LIF network's spike rasters); ``gan_quality`` (Fréchet distance, diversity
and intended-digit fraction of generated images).

May import: ``semantics``, ``ir``, ``compiler`` (hardware profiles, mapping), ``coding``, ``data``,
``errors``, ``fileio``. Never torch or Lava; ``claims`` runs models through ``pipelines``.
"""
