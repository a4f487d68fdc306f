"""Training in PyTorch: fire-once layers with temporal gradients, losses, loops, ANN start and baseline.

Owns: ``fire_once`` (the autograd function), ``losses``, ``model`` (the classifier), ``loop`` (the
training loop), ``ann_init`` / ``ann_baseline`` (the converted start and the same-shape ANN),
``checkpoint`` (the ``.pt`` file format); for rate-coded LIF networks ``lif`` (layers, surrogate
gradient), ``rate_loop`` (BPTT training: classifier and seed 002's autoencoder loss),
``lif_checkpoint`` (their ``.pt`` format) and ``ae_ann`` (the same-shape ANN autoencoder); ``gan``,
``gan_losses``, ``gan_ann``, ``gan_checkpoint`` (seed 000's Spiking-GAN, its loss, ANN baseline and
``ttfs-deploy/gan`` file format); ``reference`` (the slow per-sample S4NN reference tests hold
the batched code to).

May import: torch, ``ttfs_deploy.semantics`` (the spike-time loops shared with golden), ``coding``,
``data``, ``errors``, ``fileio``, ``reproducible``. Never Lava, never the compiler or backends.
"""
