#!/usr/bin/env python3
"""Trains the default model of `quant quantize` and writes the sample data shipped with it.

The model is a small FP32 CNN for Fashion-MNIST (Conv+BatchNorm+ReLU blocks, max pooling, two Gemm layers),
exported to ONNX with every BatchNormalization kept as its own node so that the quantizer's BatchNorm folding is
exercised on the default run.

Needs Debian's python3-torch, python3-numpy and dataset-fashion-mnist (the data is read from
/usr/share/datasets/fashion-mnist). Fashion-MNIST is (c) Zalando SE, MIT licence.

Writes, into the folder given as the first argument (default: src/Quant.Net.Cli/DefaultModel):
  fashion_cnn.onnx              the FP32 model, input "image" [N,1,28,28] in [0,1], output "logits" [N,10]
  calibration.idx3              the first 256 training images (idx3-ubyte, uncompressed)
  test.idx3 / test.idx1         the first 500 test images and their labels (idx3/idx1-ubyte, uncompressed)
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return raw, np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "src/Quant.Net.Cli/DefaultModel"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    _, train_x = read_idx("train-images-idx3-ubyte.gz")
    _, train_y = read_idx("train-labels-idx1-ubyte.gz")
    _, test_x = read_idx("t10k-images-idx3-ubyte.gz")
    _, test_y = read_idx("t10k-labels-idx1-ubyte.gz")
    xs = torch.from_numpy(train_x.astype(np.float32) / 255.0).unsqueeze(1)
    ys = torch.from_numpy(train_y.astype(np.int64))
    tx = torch.from_numpy(test_x.astype(np.float32) / 255.0).unsqueeze(1)
    ty = torch.from_numpy(test_y.astype(np.int64))

    model = FashionCnn()
    epochs = 6
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=epochs * (len(xs) // 128))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xs))
        for i in range(len(xs) // 128):
            idx = perm[i * 128:(i + 1) * 128]
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(tx).argmax(1) == ty).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} test accuracy {acc * 100:.2f}%", flush=True)

    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), os.path.join(out, "fashion_cnn.onnx"),
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13, do_constant_folding=False,
        training=torch.onnx.TrainingMode.PRESERVE)
    write_idx(os.path.join(out, "calibration.idx3"), train_x[:256])
    write_idx(os.path.join(out, "test.idx3"), test_x[:500])
    write_idx(os.path.join(out, "test.idx1"), test_y[:500])


if __name__ == "__main__":
    main()
