#!/usr/bin/python3
"""Make models/quantized/cnn_qat.onnx: the digits CNN after PyTorch quantization-aware training.

Run with Debian's Python (python3-torch 1.13, python3-sklearn, python3-onnx):

    /usr/bin/python3 models/quantized/make_qat.py

1. Trains the float CNN exactly as models/train.py does (it imports train.py: same data
   split, seed, schedule), and checks that its weights equal models/cnn.onnx's.
2. Rebuilds it as an eager-mode QAT model: QuantStub / DeQuantStub, Conv+BN(+ReLU)
   fused with fuse_modules_qat, the residual add as FloatFunctional.add_relu,
   qconfig get_default_qat_qconfig("onednn") (activations quint8 0..255 asymmetric,
   weights qint8 -128..127 per-channel symmetric, scale = max|w|/127.5), prepare_qat.
3. Fine-tunes it for QAT_EPOCHS epochs (AdamW, cosine lr, the same shift augmentation);
   the observers are frozen for the last 2 epochs and BN statistics for the last 3.
4. convert()s it and exports the quantized model to ONNX opset 13, input "input"
   [N,1,8,8], output "logits" [N,10], dynamic batch "N" (if the exporter fails on the
   converted model, the fake-quant model is exported instead, and the script says so).
5. Checks the file with onnx.checker, and prints PyTorch's accuracy (float, fake-quant,
   converted int8 on the onednn engine) on the 360 test images.

Writes next to this script:
    cnn_qat.onnx               the exported quantized model
    cnn_qat_torch_logits.npy   float32 [360,10]: the converted PyTorch model's test logits
    qat_results.json           accuracies, ops, export path taken
ORT's accuracy on cnn_qat.onnx is measured by make_ort.py (PyPI python, onnxruntime).
Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), one thread.
"""
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.ao.quantization as tq
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
sys.path.insert(0, MODELS)
sys.dont_write_bytecode = True   # no models/__pycache__
import train  # noqa: E402  models/train.py: data, float CNN, training loop

SEED = 0
QAT_EPOCHS = 8
QAT_LR = 5e-4
QAT_WD = 5e-4
FREEZE_OBSERVER_EPOCHS = 2   # last epochs with observers (scales / zero points) frozen
FREEZE_BN_EPOCHS = 3         # last epochs with BN running statistics frozen
ENGINE = "onednn"


def conv_bn(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)


class QATCNN(nn.Module):
    """train.CNN's architecture and parameter names, written for eager-mode quantization."""

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1, self.bn1 = conv_bn(1, 16)
        self.relu1 = nn.ReLU()
        self.conv2a, self.bn2a = conv_bn(16, 16)
        self.relu2a = nn.ReLU()
        self.conv2b, self.bn2b = conv_bn(16, 16)
        self.skip = nn.quantized.FloatFunctional()    # x + r, then ReLU, as one quantized op
        self.pool = nn.MaxPool2d(2)
        self.conv3, self.bn3 = conv_bn(16, 32)
        self.relu3 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        r = self.relu2a(self.bn2a(self.conv2a(x)))
        r = self.bn2b(self.conv2b(r))
        x = self.skip.add_relu(x, r)
        x = self.pool(x)
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.flatten(self.gap(x))
        return self.dequant(self.fc(x))


FUSE = [["conv1", "bn1", "relu1"], ["conv2a", "bn2a", "relu2a"],
        ["conv2b", "bn2b"], ["conv3", "bn3", "relu3"]]


@torch.no_grad()
def logits(model, x):
    model.eval()
    return model(torch.from_numpy(x)).numpy()


def accuracy(lg, y):
    return float((lg.argmax(1) == y).mean())


def qat_finetune(model, x_tr, y_tr, gen):
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    n, bs = xt.shape[0], 64
    steps = QAT_EPOCHS * ((n + bs - 1) // bs)
    opt = torch.optim.AdamW(model.parameters(), lr=QAT_LR, weight_decay=QAT_WD)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for ep in range(QAT_EPOCHS):
        model.train()
        if ep >= QAT_EPOCHS - FREEZE_OBSERVER_EPOCHS:
            model.apply(tq.disable_observer)
        if ep >= QAT_EPOCHS - FREEZE_BN_EPOCHS:
            model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            b = perm[i:i + bs]
            xb = train.random_shift(xt[b], gen)
            loss = F.cross_entropy(model(xb), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def export(model, path):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, torch.zeros(1, 1, 8, 8), path,
            input_names=["input"], output_names=["logits"], opset_version=13,
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            do_constant_folding=True)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.backends.quantized.engine = ENGINE

    x_tr, y_tr, x_te, y_te, _ = train.load_data()
    assert np.array_equal(x_te, np.load(os.path.join(MODELS, "digits_test_x.npy")))
    assert np.array_equal(y_te, np.load(os.path.join(MODELS, "digits_test_y.npy")))

    # 1. the float CNN, trained exactly like models/train.py's
    torch.manual_seed(SEED)
    fmodel = train.CNN()
    train.train(fmodel, x_tr, y_tr, epochs=80, lr=1e-2, wd=5e-4, seed=SEED, augment=True)
    acc_float = accuracy(logits(fmodel, x_te), y_te)
    ref = {i.name: numpy_helper.to_array(i)
           for i in onnx.load(os.path.join(MODELS, "cnn.onnx")).graph.initializer}
    same = all(k in ref and np.array_equal(v.numpy(), ref[k])
               for k, v in fmodel.state_dict().items() if k in ref)
    print(f"float CNN (train.py recipe): accuracy {acc_float * 100:.2f}%, "
          f"weights {'identical to' if same else 'DIFFERENT from'} models/cnn.onnx")

    # 2. QAT model from the float weights
    qat = QATCNN()
    qat.load_state_dict(fmodel.state_dict(), strict=True)
    qat.train()
    tq.fuse_modules_qat(qat, FUSE, inplace=True)
    qat.qconfig = tq.get_default_qat_qconfig(ENGINE)
    tq.prepare_qat(qat, inplace=True)

    # 3. fine-tune
    gen = torch.Generator().manual_seed(SEED + 1)
    qat_finetune(qat, x_tr, y_tr, gen)
    fq_logits = logits(qat, x_te)
    acc_fq = accuracy(fq_logits, y_te)
    print(f"fake-quant model after {QAT_EPOCHS} QAT epochs: accuracy {acc_fq * 100:.2f}%")

    # 4. convert and export
    qmodel = tq.convert(qat.eval(), inplace=False)
    q_logits = logits(qmodel, x_te)
    q_logits_b1 = np.concatenate([logits(qmodel, x_te[i:i + 1]) for i in range(len(x_te))])
    acc_q = accuracy(q_logits, y_te)
    print(f"converted int8 model (PyTorch, {ENGINE} engine): accuracy {acc_q * 100:.2f}% "
          f"(batch 1: {accuracy(q_logits_b1, y_te) * 100:.2f}%), "
          f"max |int8 - fake-quant| logits {np.abs(q_logits - fq_logits).max():.4g}")
    print(f"converted modules: {sorted({type(m).__module__ + '.' + type(m).__name__ for m in qmodel.modules() if m is not qmodel})}")

    path = os.path.join(HERE, "cnn_qat.onnx")
    exported = "converted"
    try:
        export(qmodel, path)
    except Exception as e:  # torch 1.13 cannot export some quantized graphs
        print(f"exporting the converted model failed ({type(e).__name__}: {e}); "
              f"exporting the fake-quant model instead")
        exported = "fake-quant"
        export(qat, path)

    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = {}
    for n in m.graph.node:
        k = (n.domain or "ai.onnx") + "::" + n.op_type
        ops[k] = ops.get(k, 0) + 1
    opsets = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    print(f"cnn_qat.onnx ({os.path.getsize(path)} bytes, exported from the {exported} model): "
          f"opsets {opsets}, ir_version {m.ir_version}, onnx.checker full_check OK")
    print("    ops " + ", ".join(f"{k} x{v}" for k, v in ops.items()))
    # int8 weights: how many output channels reach -128 (PyTorch's symmetric per-channel
    # scale is max|w|/127.5 with range [-128,127], unlike ORT's max|w|/127 and [-127,127])
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
              for n in m.graph.node if n.op_type == "Constant"}
    weights = {}
    for n in m.graph.node:
        w = consts.get(n.input[0]) if n.op_type == "DequantizeLinear" else None
        if w is not None and w.dtype == np.int8 and w.ndim >= 2:
            wc = w.reshape(w.shape[0], -1)
            weights[n.name] = {"shape": list(w.shape),
                               "channels_with_-128": int((wc.min(1) == -128).sum()),
                               "channels_with_127": int((wc.max(1) == 127).sum()),
                               "channels": int(w.shape[0])}
            print(f"    {n.name}: int8 weight {list(w.shape)}, "
                  f"{weights[n.name]['channels_with_-128']}/{w.shape[0]} channels hold -128, "
                  f"{weights[n.name]['channels_with_127']} hold 127")
    np.save(os.path.join(HERE, "cnn_qat_torch_logits.npy"), q_logits.astype(np.float32))

    res = {
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "numpy": np.__version__},
        "engine": ENGINE,
        "qconfig": f"get_default_qat_qconfig({ENGINE!r}): FusedMovingAvgObsFakeQuantize; "
                   "activations MovingAverageMinMaxObserver quint8 [0,255] per-tensor affine; "
                   "weights MovingAveragePerChannelMinMaxObserver qint8 [-128,127] "
                   "per_channel_symmetric (axis 0)",
        "exported": exported,
        "float_weights_identical_to_cnn_onnx": bool(same),
        "accuracy_float": acc_float,
        "accuracy_fake_quant": acc_fq,
        "accuracy_torch_int8": acc_q,
        "accuracy_torch_int8_batch1": accuracy(q_logits_b1, y_te),
        "max_abs_diff_int8_vs_fake_quant": float(np.abs(q_logits - fq_logits).max()),
        "onnx_ops": ops,
        "int8_weights": weights,
        "opset_import": opsets,
        "bytes": os.path.getsize(path),
        "qat": {"epochs": QAT_EPOCHS, "lr": QAT_LR, "wd": QAT_WD,
                "freeze_observer_epochs": FREEZE_OBSERVER_EPOCHS,
                "freeze_bn_epochs": FREEZE_BN_EPOCHS},
    }
    with open(os.path.join(HERE, "qat_results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
