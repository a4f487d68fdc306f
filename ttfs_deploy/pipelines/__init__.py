"""Pipelines that chain the stages for one user job: run a model on a target, the demo.

Owns: ``run`` (model file → compiled network → backend → classified result), ``demo`` (the README's
main job), ``run_rate`` (the same for rate-coded LIF networks), ``claims_rate`` and ``autoencoder``
(the TTFS-vs-rate and autoencoder tables of the claims report), ``gan`` (sample a Spiking-GAN's
generator on any target, its costs, budget and sample quality). They call the stages; they compute
nothing the stages already define.

May import every stage (``compiler``, ``backends``, ``semantics``, ``measure``, ``data``); never the CLI.
"""
