"""The @ssl bench steps in PyTorch (CPU), as references for `npm run bench`.

Usage: torch_step.py standard STEPS WARMUP THREADS
       torch_step.py resnet18 STEPS WARMUP THREADS HALF
standard: as tools/bench/run.mjs: 256 images x 2 views, 28x28x1, the benchmark ConvNet,
projection head Dense(128)-ReLU-Dense(64), NT-Xent (tau=0.5), Adam 1e-3.
resnet18: CIFAR ResNet-18 (3x3 stem, no max-pool, 1x1 projection shortcuts), HALF x 2 views of
32x32x3, projector 512-512-128, NT-Xent, Adam. Prints one JSON line (with peak RSS).
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

mode = sys.argv[1] if len(sys.argv) > 1 else "standard"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 2
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
half = int(sys.argv[5]) if len(sys.argv) > 5 else 64
torch.set_num_threads(threads)
torch.manual_seed(0)


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = nn.Sequential()
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(h)) + self.sc(x))


def resnet18():
    layers = [*block(3, 64)]
    cin = 64
    for i, w in enumerate([64, 128, 256, 512]):
        layers += [Basic(cin, w, 1 if i == 0 else 2), Basic(w, w, 1)]
        cin = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


if mode == "resnet18":
    encoder = resnet18()
    head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))
    n = half
    views = torch.rand(2 * n, 3, 32, 32)
else:
    encoder = nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
    n = 256
    views = torch.rand(2 * n, 1, 28, 28)
params = list(encoder.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)


def nt_xent(z1, z2, t=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    m = z1.shape[0]
    logits = z @ z.T / t - torch.eye(2 * m) * 1e9
    target = torch.cat([torch.arange(m, 2 * m), torch.arange(0, m)])
    return F.cross_entropy(logits, target)


def train_step():
    opt.zero_grad()
    z = head(encoder(views))
    loss = nt_xent(z[:n], z[n:])
    loss.backward()
    opt.step()


def timed(fn, k, w):
    for _ in range(w):
        fn()
    ts = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


train = timed(train_step, steps, warmup)
row = {"backend": f"pytorch-{torch.__version__}-cpu", "threads": threads, "trainImagesPerSec": 2 * n / train,
       "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if mode == "resnet18":
    row.update({"model": "resnet18", "views": 2 * n})
else:
    encoder.eval()
    with torch.no_grad():
        infer = timed(lambda: encoder(views), steps, 1)
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        mm = timed(lambda: a @ b, 5, 1)
    row.update({"inferImagesPerSec": 512 / infer, "matmulGflops": 2 * 2048 ** 3 / mm / 1e9})
print(json.dumps(row))
