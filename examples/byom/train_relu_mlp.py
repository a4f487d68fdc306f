"""Train an ordinary PyTorch ReLU MLP (784-400-10, with biases) and save its state_dict: the input of
`ttfs-deploy convert`. The same training as `ttfs-deploy baseline --arch 784-400-10 --shift 2`
(train.ann_baseline.fit_mlp: Adam, cross-entropy, 30 epochs, +-2 px shifts, seed 0).

    .venv/bin/python examples/byom/train_relu_mlp.py ann.pt
"""

import sys

import torch

from ttfs_deploy import data
from ttfs_deploy.train.ann_baseline import ann_accuracy, fit_mlp

model = fit_mlp([784, 400, 10], data.load("mnist-5k:train"), epochs=30, shift=2, seed=0, progress=False)
print(f"ANN accuracy on mnist-5k:val: {ann_accuracy(model, data.load('mnist-5k:val')):.2%}")
torch.save(model.state_dict(), sys.argv[1])  # a plain state_dict: keys 0.weight, 0.bias, 2.weight, 2.bias
