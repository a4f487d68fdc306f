"""Train an ordinary PyTorch ReLU MLP (with biases) and save its state_dict: the input of
`ttfs-deploy convert`. By default 784-400-10 on mnist-5k:train, the same training as
`ttfs-deploy baseline --arch 784-400-10 --shift 2` (train.ann_baseline.fit_mlp: Adam, cross-entropy,
30 epochs, +-2 px shifts, seed 0).

    .venv/bin/python examples/byom/train_relu_mlp.py ann.pt
    .venv/bin/python examples/byom/train_relu_mlp.py d.pt --arch 64-32-10 --data digits:train --val-data digits:test --shift 0
"""

import argparse

import torch

from ttfs_deploy import data
from ttfs_deploy.train.ann_baseline import ann_accuracy, fit_mlp
from ttfs_deploy.train.model import parse_arch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("output", help="state_dict file to write (.pt)")
parser.add_argument("--arch", default="784-400-10")
parser.add_argument("--data", default="mnist-5k:train")
parser.add_argument("--val-data", default="mnist-5k:val")
parser.add_argument("--shift", type=int, default=2)
parser.add_argument("--epochs", type=int, default=30)
args = parser.parse_args()
model = fit_mlp(
    parse_arch(args.arch), data.load(args.data), epochs=args.epochs, shift=args.shift, seed=0, progress=False
)
print(f"ANN accuracy on {args.val_data}: {ann_accuracy(model, data.load(args.val_data)):.2%}")
torch.save(model.state_dict(), args.output)  # a plain state_dict: keys 0.weight, 0.bias, 2.weight, 2.bias, ...
