#!/usr/bin/python3
"""PyTorch CPU reference for FTTE.NET's engine: training samples/second and a 256³ GEMM, one thread.

Same setup as `ftte-bench train`: SGD (lr 0.01, momentum 0.9), cross-entropy, seeded random inputs and labels
(throughput does not depend on the values), a warm-up, then at least --seconds of timed steps. The input batch does not
require a gradient, so, as in the engine, the first layer's input gradient is not computed.

Models (1×28×28 / 784 inputs, 10 classes):
  mlp    784-128-64-10, ReLU
  lenet  conv(1→8, 3×3, pad 1)-ReLU-maxpool2 → conv(8→16, 3×3, pad 1)-ReLU-maxpool2 → flatten(16·7·7) → linear 64 → ReLU → linear 10

Usage: /usr/bin/python3 bench/pytorch/reference.py [--json] [--seconds 2] [--batches 32,256] [--models mlp,lenet]
  (Debian: apt-get install -y python3-torch; add libopenblas0-pthread for an optimised BLAS, else torch.mm runs on
  netlib's reference BLAS — the "blas" key says which was loaded). With --json, one object per line:
  {"engine": "pytorch", "benchmark": "train", "model", "batch", "threads", "samples_per_second", ...} per model and batch, and
  {"engine": "pytorch", "benchmark": "gemm", "case": "square256", "m", "n", "k", "threads", "gflops"} for torch.mm.
"""
import argparse
import json
import os
import time

torch = nn = None  # imported in main(), after OPENBLAS_NUM_THREADS is set: OpenBLAS sizes its thread pool when loaded


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)), (784,)
    if name == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10)), (1, 28, 28)
    raise ValueError(f"unknown model {name!r}; use mlp or lenet")


def timed(step, seconds, warmup):
    """Runs step() for `warmup` seconds, then for at least `seconds`; returns (steps, elapsed seconds) of the timed part."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        step()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps, elapsed


def train_throughput(name, batch, seconds, warmup):
    torch.manual_seed(1)
    model, shape = build(name)
    x = torch.randn((batch,) + shape)
    y = torch.randint(0, 10, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    steps, elapsed = timed(step, seconds, warmup)
    return steps * batch / elapsed, elapsed / steps


def gemm_gflops(n, seconds, warmup):
    torch.manual_seed(2)
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    steps, elapsed = timed(lambda: torch.mm(a, b, out=c), seconds, warmup)
    return 2.0 * n ** 3 * steps / elapsed / 1e9


def loaded_blas():
    """The BLAS shared libraries this process mapped (resolved paths, '+'-joined), or 'unknown'."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "blas" in os.path.basename(path):
                    real = os.path.realpath(path)
                    if real not in found:
                        found.append(real)
    except OSError:
        pass
    return "+".join(found) or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed window per case (default 2)")
    parser.add_argument("--warmup", type=float, default=0.5, help="untimed warm-up per case (default 0.5)")
    parser.add_argument("--batches", default="32,256")
    parser.add_argument("--models", default="mlp,lenet")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = parser.parse_args()

    # Debian's torch is built with BLAS_INFO=generic: torch.mm and the linear layers call whichever libblas.so.3 the
    # alternatives system points to — netlib's reference BLAS, or OpenBLAS once libopenblas0-pthread is installed.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    global torch, nn
    import torch
    import torch.nn as nn
    torch.set_num_threads(args.threads)
    common = {"engine": "pytorch", "torch_version": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas()}
    if not args.json:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {common['blas']}")
        print(f"{'model':<8} {'batch':>5} {'samples/s':>12} {'step ms':>9}")
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            sps, step_seconds = train_throughput(name, batch, args.seconds, args.warmup)
            if args.json:
                print(json.dumps({**common, "benchmark": "train", "model": name, "batch": batch,
                                  "samples_per_second": round(sps, 1), "step_ms": round(step_seconds * 1e3, 4)}), flush=True)
            else:
                print(f"{name:<8} {batch:>5} {sps:>12,.0f} {step_seconds * 1e3:>9.3f}", flush=True)

    gflops = gemm_gflops(256, args.seconds, args.warmup)
    if args.json:
        print(json.dumps({**common, "benchmark": "gemm", "case": "square256", "m": 256, "n": 256, "k": 256,
                          "gflops": round(gflops, 2)}), flush=True)
    else:
        print(f"torch.mm 256×256×256: {gflops:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
