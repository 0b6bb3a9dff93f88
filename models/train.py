#!/usr/bin/python3
"""Train and export the small real models bundled with qkc.

Run with Debian's Python (python3-torch 1.13, python3-sklearn, python3-onnx):

    /usr/bin/python3 models/train.py

Writes, next to this script:
    digits_test_x.npy   float32 [360,1,8,8]  held-out test images, pixels in [0,1]
    digits_test_y.npy   int64   [360]        test labels
    digits_calib_x.npy  float32 [200,1,8,8]  calibration images (from the training split)
    mlp.onnx            Flatten-Gemm-Relu-Gemm-Relu-Gemm, input "input" [N,1,8,8] -> "logits" [N,10]
    cnn.onnx            Conv/BatchNormalization/Relu/residual Add/MaxPool/GlobalAveragePool/Flatten/Gemm

Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), one thread.
The script does not depend on ONNX Runtime; models/check_ort.py is a separate,
by-hand cross-check.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import onnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))

SPLIT_SEED = 0        # train_test_split random_state (stratified, 20% test)
CALIB_SEED = 1        # choice of the 200 calibration images (20 per class)
TRAIN_SEED = 0        # torch / augmentation seed
CNN_ACC_MIN = 0.985   # the CNN must reach this test accuracy

ALLOWED_OPS = {
    "mlp": {"Flatten", "Gemm", "Relu"},
    "cnn": {"Conv", "BatchNormalization", "Relu", "Add", "MaxPool",
            "GlobalAveragePool", "Flatten", "Gemm"},
}
REQUIRED_OPS = {
    "mlp": {"Flatten", "Gemm", "Relu"},
    "cnn": {"Conv", "BatchNormalization", "Relu", "Add", "MaxPool",
            "GlobalAveragePool", "Flatten", "Gemm"},
}


# --------------------------------------------------------------------------- data
def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED)
    # 200 calibration images from the training split: 20 per class, fixed order.
    rng = np.random.RandomState(CALIB_SEED)
    idx = np.concatenate([rng.choice(np.flatnonzero(y_tr == c), 20, replace=False)
                          for c in range(10)])
    idx = idx[rng.permutation(len(idx))]
    x_cal = np.ascontiguousarray(x_tr[idx])
    return (np.ascontiguousarray(x_tr), y_tr,
            np.ascontiguousarray(x_te), y_te, x_cal)


def random_shift(x, gen, max_shift=1):
    """Shift each image by an integer (dy, dx) in [-max_shift, max_shift]^2, zero fill."""
    n = x.shape[0]
    p = max_shift
    xp = F.pad(x, (p, p, p, p))
    k = 2 * p + 1
    sel = torch.randint(0, k * k, (n,), generator=gen)
    out = torch.empty_like(x)
    for s in range(k * k):
        m = sel == s
        if m.any():
            dy, dx = divmod(s, k)
            out[m] = xp[m, :, dy:dy + 8, dx:dx + 8]
    return out


# --------------------------------------------------------------------------- models
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


def conv_bn(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(1, 16)
        self.conv2a, self.bn2a = conv_bn(16, 16)
        self.conv2b, self.bn2b = conv_bn(16, 16)
        self.pool = nn.MaxPool2d(2)
        self.conv3, self.bn3 = conv_bn(16, 32)
        self.gap = nn.AdaptiveAvgPool2d(1)     # exports as GlobalAveragePool
        self.flatten = nn.Flatten()            # exports as Flatten
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        r = F.relu(self.bn2a(self.conv2a(x)))
        r = self.bn2b(self.conv2b(r))
        x = F.relu(x + r)
        x = self.pool(x)                       # 8x8 -> 4x4
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.flatten(self.gap(x))
        return self.fc(x)


# --------------------------------------------------------------------------- training
def train(model, x_tr, y_tr, epochs, lr, wd, seed, augment):
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x_tr)
    yt = torch.from_numpy(y_tr)
    n = xt.shape[0]
    bs = 64
    steps = epochs * ((n + bs - 1) // bs)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.2)
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            b = perm[i:i + bs]
            xb, yb = xt[b], yt[b]
            if augment:
                xb = random_shift(xb, gen)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


@torch.no_grad()
def predict(model, x):
    model.eval()
    return model(torch.from_numpy(x)).numpy()


# --------------------------------------------------------------------------- export
def export(model, name, out_dir):
    path = os.path.join(out_dir, name + ".onnx")
    model.eval()
    dummy = torch.zeros(1, 1, 8, 8)
    with warnings.catch_warnings():
        # PRESERVE makes the exporter warn about constant folding "in training
        # mode"; the model is in eval mode, so nothing training-related is exported.
        warnings.filterwarnings("ignore", message=".*constant folding.*")
        torch.onnx.export(
            model, dummy, path,
            input_names=["input"], output_names=["logits"],
            opset_version=13,
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            do_constant_folding=True,
            # EVAL (the default) runs the eval peephole pass that fuses
            # Conv+BatchNormalization. PRESERVE with the model in eval mode skips
            # that pass and exports inference-form BatchNormalization nodes.
            training=torch.onnx.TrainingMode.PRESERVE)
    assert not model.training
    return path


def check_onnx(path, kind):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    g = m.graph
    ops = [n.op_type for n in g.node]
    opset = {o.version for o in m.opset_import if o.domain in ("", "ai.onnx")}
    assert opset == {13}, f"{path}: opset {opset}"
    bad = set(ops) - ALLOWED_OPS[kind]
    missing = REQUIRED_OPS[kind] - set(ops)
    assert not bad, f"{path}: unexpected ops {sorted(bad)}"
    assert not missing, f"{path}: missing ops {sorted(missing)}"
    for n in g.node:
        if n.op_type == "BatchNormalization":
            assert len(n.output) == 1, f"{path}: training-mode BatchNormalization"
    # interface: input "input" [N,1,8,8], output "logits" [N,10]
    init_names = {i.name for i in g.initializer}
    real_inputs = [i for i in g.input if i.name not in init_names]

    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value
                for d in vi.type.tensor_type.shape.dim]
    assert [i.name for i in real_inputs] == ["input"], real_inputs
    assert dims(real_inputs[0]) == ["N", 1, 8, 8], dims(real_inputs[0])
    assert [o.name for o in g.output] == ["logits"], g.output
    assert dims(g.output[0]) == ["N", 10], dims(g.output[0])
    return ops


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default=HERE, help="output directory (default: models/)")
    ap.add_argument("--seed", type=int, default=TRAIN_SEED, help="training seed")
    ap.add_argument("--ref", metavar="DIR",
                    help="also write PyTorch's test-set logits (<model>_torch_logits_b360.npy "
                         "at batch 360, <model>_torch_logits_b1.npy one image at a time) "
                         "to DIR, for models/check_ort.py")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    x_tr, y_tr, x_te, y_te, x_cal = load_data()
    print(f"digits: train {len(y_tr)}, test {len(y_te)}, calib {len(x_cal)} "
          f"(stratified 20% test, random_state={SPLIT_SEED})")
    np.save(os.path.join(args.out, "digits_test_x.npy"), x_te.astype(np.float32))
    np.save(os.path.join(args.out, "digits_test_y.npy"), y_te.astype(np.int64))
    np.save(os.path.join(args.out, "digits_calib_x.npy"), x_cal.astype(np.float32))

    specs = [
        ("mlp", MLP, dict(epochs=250, lr=3e-3, wd=5e-2, augment=True)),
        ("cnn", CNN, dict(epochs=80, lr=1e-2, wd=5e-4, augment=True)),
    ]
    ok = True
    for name, cls, hp in specs:
        torch.manual_seed(args.seed)
        model = cls()
        t0 = time.time()
        train(model, x_tr, y_tr, seed=args.seed, **hp)
        dt = time.time() - t0
        acc = float((predict(model, x_te).argmax(1) == y_te).mean())
        path = export(model, name, args.out)
        ops = check_onnx(path, name)
        print(f"{name}: test accuracy {acc * 100:.2f}% "
              f"({int(round(acc * len(y_te)))}/{len(y_te)}), trained in {dt:.1f}s, "
              f"{sum(p.numel() for p in model.parameters())} params, "
              f"{os.path.getsize(path)} bytes")
        print(f"{name}: onnx ops ({len(ops)}): {' '.join(ops)}")
        if args.ref:
            os.makedirs(args.ref, exist_ok=True)
            np.save(os.path.join(args.ref, f"{name}_torch_logits_b360.npy"),
                    predict(model, x_te))
            np.save(os.path.join(args.ref, f"{name}_torch_logits_b1.npy"),
                    np.concatenate([predict(model, x_te[i:i + 1])
                                    for i in range(len(x_te))]))
        if name == "cnn" and acc < CNN_ACC_MIN:
            print(f"cnn: test accuracy {acc:.4f} below {CNN_ACC_MIN}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
