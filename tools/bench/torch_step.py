"""The standard @ssl training step in PyTorch (CPU), as a reference for `npm run bench`.

Same as tools/bench/run.mjs: 256 images x 2 views, 28x28x1, the benchmark ConvNet, projection
head Dense(128)-ReLU-Dense(64), NT-Xent (tau=0.5), Adam 1e-3. Prints one JSON line.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


encoder = nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten())
head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
params = list(encoder.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
views = torch.rand(512, 1, 28, 28)


def nt_xent(z1, z2, t=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = z @ z.T / t - torch.eye(2 * n) * 1e9
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, target)


def train_step():
    opt.zero_grad()
    z = head(encoder(views))
    loss = nt_xent(z[:256], z[256:])
    loss.backward()
    opt.step()


def timed(fn, n, w):
    for _ in range(w):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


train = timed(train_step, steps, warmup)
encoder.eval()
with torch.no_grad():
    infer = timed(lambda: encoder(views), steps, 1)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    mm = timed(lambda: a @ b, 5, 1)
print(json.dumps({"backend": f"pytorch-{torch.__version__}-cpu-2threads", "trainImagesPerSec": 512 / train,
                  "inferImagesPerSec": 512 / infer, "matmulGflops": 2 * 2048 ** 3 / mm / 1e9}))
