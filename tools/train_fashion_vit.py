#!/usr/bin/python3
"""Trains the small vision transformer of the transformer tests and writes it as ONNX.

A ViT for Fashion-MNIST as PyTorch's usual building blocks export it: 7x7 patches (16 tokens) and a class token, width
64, 4 pre-LayerNorm blocks of 4-head self-attention (Q, K, V and output Linear layers, softmax(Q.K^T / sqrt(d)).V)
and an MLP with Erf GELU, a final LayerNorm and a linear head on the class token. Exported at opset 17, so the model
has LayerNormalization ops, two-activation MatMuls, Softmax and GELU as Erf, and its LayerNorm outputs feed only the
Linear layers (the pre-LN layout whose outlier smoothing folds into gamma and beta).

Needs Debian's python3-torch (with libopenblas0-pthread, else it is very slow), python3-numpy and
dataset-fashion-mnist (read from /usr/share/datasets/fashion-mnist). Fashion-MNIST is (c) Zalando SE, MIT licence.
Deterministic for a given torch build: seed 0, one thread.

Writes the file given as the first argument (default: tests/Quant.Net.Onnx.Tests/Corpus/Data/fashion_vit.onnx):
input "image" [N,1,28,28] in [0,1], output "logits" [N,10].
"""
import gzip
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
WIDTH, DEPTH, HEADS, MLP, PATCH = 64, 4, 4, 128, 7


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(WIDTH, WIDTH) for _ in range(4))

    def forward(self, x):
        n, t, _ = x.shape
        d = WIDTH // HEADS

        def heads(y):
            return y.reshape(n, t, HEADS, d).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        return self.o((p @ v).transpose(1, 2).reshape(n, t, WIDTH))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.attention = Attention()
        self.fc1, self.fc2 = nn.Linear(WIDTH, MLP), nn.Linear(MLP, WIDTH)

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        tokens = (28 // PATCH) ** 2
        self.embed = nn.Linear(PATCH * PATCH, WIDTH)
        self.cls = nn.Parameter(torch.zeros(1, 1, WIDTH))
        self.position = nn.Parameter(torch.randn(1, tokens + 1, WIDTH) * 0.02)
        self.blocks = nn.Sequential(*(Block() for _ in range(DEPTH)))
        self.ln = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, 10)

    def forward(self, image):
        n = image.shape[0]
        g = 28 // PATCH
        patches = image.reshape(n, g, PATCH, g, PATCH).permute(0, 1, 3, 2, 4).reshape(n, g * g, PATCH * PATCH)
        x = torch.cat([self.cls.expand(n, -1, -1), self.embed(patches)], dim=1) + self.position
        return self.head(self.ln(self.blocks(x))[:, 0])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/Quant.Net.Onnx.Tests/Corpus/Data/fashion_vit.onnx"
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    tx = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    ty = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = ViT()
    epochs, batch = int(os.environ.get("EPOCHS", "8")), 128
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps = epochs * (len(x) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=max(1, steps))
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(len(x) // batch):
            idx = order[i * batch:(i + 1) * batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {accuracy:.4f}", flush=True)

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
