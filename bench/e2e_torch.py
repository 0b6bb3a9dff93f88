#!/usr/bin/env python3
"""End-to-end latency of qkc against PyTorch (run by bench/perf.py with
Debian's /usr/bin/python3 and python3-torch; writes one JSON file).

    python3 bench/e2e_torch.py SPEC.json OUT.json

The same models as ONNX Runtime's part, as torch modules holding the ONNX
files' weights (the digits models: the classes of models/train.py, whose
state-dict names the ONNX initializers keep; the wide MLP: its state dict).
For each (model, precision, batch, threads): qkc (ctypes over libqkrt) and
PyTorch alternate in rounds, medians kept. PyTorch runs under
torch.inference_mode() with torch.set_num_threads(T):
  fp32  eager, and torch.jit.trace + torch.jit.freeze;
  int8  the MLPs: torch.ao.quantization.quantize_dynamic (nn.Linear, qint8
        weights, activations quantized per batch at run time); the CNN: FX
        graph mode static quantization (prepare_fx / convert_fx, the
        'fbgemm' default qconfig mapping, calibrated on the same data as
        qkc's --calib); eager and traced.
"""
import json
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from benchlib import Qkrt, QkcFailure, alternate, build_qkrt_so, dump, sqnr_db  # noqa: E402


T0 = time.perf_counter()


def modules(nn, F):
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
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
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            r = F.relu(self.bn2a(self.conv2a(x)))
            r = self.bn2b(self.conv2b(r))
            x = F.relu(x + r)
            x = self.pool(x)
            x = F.relu(self.bn3(self.conv3(x)))
            x = self.flatten(self.gap(x))
            return self.fc(x)

    def wide():
        return nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                             nn.Linear(1024, 256))
    return {"mlp": MLP, "cnn": CNN, "wide_mlp": wide}


def onnx_state(path, torch):
    import onnx
    from onnx import numpy_helper
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}


def main():
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    res = {"python": sys.executable, "rows": [], "problems": [], "methods": {}, "qkc_wrong": []}
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        res["skipped"] = f"PyTorch not importable for {sys.executable} ({e}): apt-get install python3-torch"
        dump(res, out_path)
        return 0
    res["torch"] = torch.__version__
    warnings.filterwarnings("ignore")
    torch.backends.quantized.engine = "fbgemm" if "fbgemm" in torch.backends.quantized.supported_engines else \
        torch.backends.quantized.engine
    res["qengine"] = torch.backends.quantized.engine
    qk = Qkrt(build_qkrt_so(spec["build"], spec["work"]))
    mk = modules(nn, F)
    rounds, block = spec["rounds"], spec["block_s"]
    for m in spec["models"]:
        net = mk[m["name"]]().eval()
        if m["name"] == "wide_mlp":
            net.load_state_dict(torch.load(m["torch_state"]))
        else:
            missing, unexpected = net.load_state_dict(onnx_state(m["onnx"], torch), strict=False)
            if unexpected or [k for k in missing if not k.endswith("num_batches_tracked")]:
                res["problems"].append(f"{m['name']}: ONNX weights do not fit the torch module: {missing} {unexpected}")
                continue
        print(f"  [e2e_torch {time.perf_counter() - T0:6.1f} s] {m['name']}: qkc vs PyTorch", file=sys.stderr, flush=True)
        xall = np.load(m["data"])
        calib = torch.from_numpy(np.load(m["calib"]))
        variants = {"fp32": net}
        try:
            if m["name"] == "cnn":
                from torch.ao.quantization import get_default_qconfig_mapping
                from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
                p = prepare_fx(net, get_default_qconfig_mapping(res["qengine"]), (calib[:1],))
                with torch.inference_mode():
                    for i in range(0, len(calib), 16):
                        p(calib[i:i + 16])
                variants["int8"] = convert_fx(p)
                res["methods"][m["name"]] = "FX static (prepare_fx/convert_fx, default qconfig mapping)"
            else:
                variants["int8"] = torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
                res["methods"][m["name"]] = "quantize_dynamic (nn.Linear, qint8)"
        except Exception as e:
            res["problems"].append(f"PyTorch int8 of {m['name']}: {str(e).splitlines()[0][:200]}")
        for prec, mod in variants.items():
            for T in spec["threads"]:
                torch.set_num_threads(T)
                for B in spec["batches"]:
                    xn = np.ascontiguousarray(xall[:B])
                    x = torch.from_numpy(xn)
                    with torch.inference_mode():
                        ref = net(x).numpy()
                        ye = mod(x).numpy()
                        try:
                            jit = torch.jit.freeze(torch.jit.trace(mod, (x,)).eval())
                            jit(x)
                            yj = jit(x).numpy()
                        except Exception as e:
                            jit, yj = None, None
                            res["problems"].append(f"torch.jit of {m['name']} {prec}: {str(e).splitlines()[0][:200]}")
                        fq, yq = qk.runner(m["qkc_" + prec], xn, ref.shape, T)
                        fns = {"qkc": fq, "eager": lambda: mod(x)}
                        if jit is not None:
                            fns["jit"] = lambda: jit(x)
                        t = alternate(fns, rounds, block, cooldown_s=spec["cooldown_s"] if T > 1 else 0)
                    row = {"model": m["name"], "prec": prec, "threads": T, "batch": B,
                           "qkc_us": t["qkc"][0] * 1e6, "eager_us": t["eager"][0] * 1e6,
                           "jit_us": t["jit"][0] * 1e6 if "jit" in t else None,
                           "eager_sqnr": sqnr_db(ref, ye), "qkc_sqnr": sqnr_db(ref, yq),
                           "jit_sqnr": sqnr_db(ref, yj) if yj is not None else None}
                    if prec == "fp32" and row["qkc_sqnr"] < 80:
                        res["qkc_wrong"].append(f"qkc fp32 {m['name']} b{B}: output differs from PyTorch's "
                                               f"(SQNR {row['qkc_sqnr']:.1f} dB)")
                    res["rows"].append(row)
                    qk.close_all()
    dump(res, out_path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except QkcFailure as e:
        print(f"e2e_torch: qkc FAILED: {e}", file=sys.stderr)
        sys.exit(1)
