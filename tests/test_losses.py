"""Loss targets as the papers define them (S4NN relative targets; seed 000 eq. 6-7)."""

import torch

from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.losses import aggressive_targets, s4nn_targets, temporal_loss

T = 256


def test_aggressive_targets_winner_time_and_T():
    t = torch.tensor([[50.0, 40.0, 256.0], [256.0, 256.0, 256.0]])
    labels = torch.tensor([0, 2])
    # sample 0: winner time 40 → label 0 gets 40, others T; sample 1: nobody fired → label gets 0
    assert aggressive_targets(t, labels, T).tolist() == [[40.0, 256.0, 256.0], [256.0, 256.0, 0.0]]


def test_s4nn_relative_targets():
    t = torch.tensor([[50.0, 40.0, 42.0, 100.0], [256.0, 256.0, 256.0, 256.0], [254.0, 255.0, 256.0, 256.0]])
    labels = torch.tensor([0, 1, 1])
    expected = [
        [40.0, 43.0, 43.0, 100.0],  # within gamma of 40 → 43; label → 40; far ones keep time
        [256.0, 253.0, 256.0, 256.0],  # nobody fired: label → T - gamma
        [256.0, 254.0, 256.0, 256.0],
    ]  # min(tau + gamma, T) clamps at T
    assert s4nn_targets(t, labels, T, gamma=3).tolist() == expected


def test_targets_agree_with_per_sample_reference():
    g = torch.Generator().manual_seed(0)
    t = torch.randint(1, T + 1, (200, 10), generator=g).float()
    t[::7] = T  # some samples with no output spike
    labels = torch.randint(0, 10, (200,), generator=g)
    for loss, batched in (("s4nn", s4nn_targets(t, labels, T)), ("aggressive", aggressive_targets(t, labels, T))):
        cfg = ref.RefConfig(loss=loss)
        for b in range(200):
            expected = ref.targets(t[b].numpy(), int(labels[b]), cfg)
            assert batched[b].tolist() == expected.tolist()


def test_loss_gradient_is_s4nn_output_error():
    t = torch.tensor([[50.0, 40.0, 256.0]], requires_grad=True)
    loss = temporal_loss(t, torch.tensor([0]), T, "aggressive")
    loss.backward()
    # dL/dt = (t - target) / T with target [40, 256, 256]
    assert torch.allclose(t.grad, torch.tensor([[10.0, -216.0, 0.0]]) / T)
