#!/usr/bin/python3
"""Trains the small decoder-only language model of the weight-only (LLM) tests and writes it as ONNX.

A byte-level causal LM in the layout of GPT-2/Llama-style exports: token and position embeddings, 4 pre-LayerNorm
blocks of causal 4-head self-attention and a GELU MLP (width 128, MLP 512), a final LayerNorm and an LM head tied to
the token embedding (the same matrix read by Gather and by the last MatMul). Trained on Debian's licence texts
(/usr/share/common-licenses), all but the last tenth of each file, in windows of 64 bytes; that last tenth is the
held-out text the perplexity tests read. Exported at opset 17: input "input_ids" int64 [1, T] (T <= 128), output "logits" [1, T, 256].

Needs Debian's python3-torch (with libopenblas0-pthread, else it is very slow). Deterministic for a given torch
build: seed 0, one thread.

Writes the file given as the first argument (default: tests/Quant.Net.Onnx.Tests/Corpus/Data/tiny_lm.onnx).
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

LICENSES = "/usr/share/common-licenses"
FILES = ["Apache-2.0", "MPL-2.0", "GPL-3", "LGPL-3", "Artistic", "GFDL-1.3", "GPL-2", "LGPL-2.1", "CC0-1.0"]
WIDTH, DEPTH, HEADS, MLP, CONTEXT, VOCAB = 128, 4, 4, 512, 128, 256
WINDOW = 64  # training and evaluation windows (the position table covers up to CONTEXT)


def text_split():
    train, held = bytearray(), bytearray()
    for name in FILES:
        path = os.path.join(LICENSES, name)
        if os.path.exists(path):
            data = open(path, "rb").read()
            cut = len(data) * 9 // 10
            train += data[:cut]
            held += data[cut:]
    return bytes(train), bytes(held)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv, self.out = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.fc1, self.fc2 = nn.Linear(WIDTH, MLP), nn.Linear(MLP, WIDTH)

    def forward(self, x, mask):
        n, t, _ = x.shape
        d = WIDTH // HEADS
        q, k, v = self.qkv(self.ln1(x)).split(WIDTH, dim=-1)
        q, k, v = (y.reshape(n, t, HEADS, d).transpose(1, 2) for y in (q, k, v))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, dim=-1)
        x = x + self.out((p @ v).transpose(1, 2).reshape(n, t, WIDTH))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, WIDTH)
        self.positions = nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.ln = nn.LayerNorm(WIDTH)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device).unsqueeze(0)
        mask = torch.triu(torch.full((t, t), -1e4), diagonal=1)
        x = self.tokens(input_ids) + self.positions(positions)
        for block in self.blocks:
            x = block(x, mask)
        return self.ln(x) @ self.tokens.weight.t()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/Quant.Net.Onnx.Tests/Corpus/Data/tiny_lm.onnx"
    torch.manual_seed(0)
    torch.set_num_threads(1)
    train, held = text_split()
    data = torch.tensor(list(train), dtype=torch.long)
    test = torch.tensor(list(held), dtype=torch.long)
    model = TinyLM()
    steps, batch = int(os.environ.get("STEPS", "2000")), 16
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=max(1, steps))
    for step in range(steps):
        starts = torch.randint(0, len(data) - WINDOW - 1, (batch,))
        x = torch.stack([data[s:s + WINDOW] for s in starts])
        y = torch.stack([data[s + 1:s + WINDOW + 1] for s in starts])
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % 500 == 0:
            model.eval()
            with torch.no_grad():
                total, count = 0.0, 0
                for s in range(0, len(test) - WINDOW - 1, WINDOW):
                    logits = model(test[s:s + WINDOW].unsqueeze(0))
                    total += F.cross_entropy(logits[0], test[s + 1:s + WINDOW + 1], reduction="sum").item()
                    count += WINDOW
            print(f"step {step + 1}: loss {loss.item():.3f}, held-out perplexity {math.exp(total / count):.3f}", flush=True)
            model.train()

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 16, dtype=torch.long), out, input_names=["input_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {1: "T"}, "logits": {1: "T"}}, opset_version=17)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
