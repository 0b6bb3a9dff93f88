#!/usr/bin/env python3
"""Make the ONNX models and data of `make bench` in a work directory.

    python3 bench/make_models.py WORKDIR

Needs onnx and numpy (Debian's /usr/bin/python3 has both: python3-onnx,
python3-numpy); with PyTorch (python3-torch) the wide MLP is made and exported
by torch, else built directly as ONNX Gemm/Relu nodes.
Nothing here is committed: WORKDIR is under the build directory.

GEMM shapes (M x N x K), each as several single-op models with one constant
random weight (seeded, so every run times the same data):

  gemm_MxNxK_f32.onnx    MatMul   X f32[M,K] x W f32[K,N] -> Y f32[M,N]
  gemm_MxNxK_mmi.onnx    MatMulInteger  A u8[M,K] x B i8[K,N] -> Y i32[M,N]
                         (zero points 0: exactly oneDNN's u8s8s32 matmul)
  gemm_MxNxK_mmi_s8.onnx MatMulInteger  A i8[M,K] x B i8[K,N] -> Y i32[M,N]
                         (oneDNN's s8s8s32)
  gemm_MxNxK_qlm.onnx    QLinearMatMul  A u8 x B i8 (per-tensor) -> Y u8,
                         requantized (what XNNPACK's qs8 fully-connected does)
  gemm_MxNxK_x.npy       a random f32 [M,K] input, the calibration data of
                         `qkc compile --precision int8` on the f32 model

The conv: conv_c64_f32.onnx (Conv X f32[1,64,56,56], W [64,64,3,3], pads 1,
with a bias), conv_c64_ci.onnx (ConvInteger u8 x i8 -> i32) and
conv_c64_x.npy. Weights are full-range int8 ([-128, 127], so 255 x -128 pairs
occur: a CPU path that saturates int16 gives wrong sums), inputs full-range u8.

Raw little-endian binaries of every weight (W_f32.bin, W_i8.bin: [K,N]
row-major; conv: [64,64,3,3]) are written beside them for the C peers
(bench/gemm_peers.c), so all contenders use the same numbers.

wide_mlp.onnx, a 1024 -> 1024 -> 1024 -> 256 MLP with ReLU
(torch.nn.Linear layers, default random init, seed 0), exported by
torch.onnx.export with a dynamic batch (input "input" f32[N,1024], output
"logits" f32[N,256]); wide_mlp_calib.npy: 256 random inputs (N(0,1)) for
int8 calibration, wide_mlp_x.npy: 64 more, the benchmark's input, and
wide_mlp.pt: the state dict for the PyTorch benchmark.
Also trivial.onnx (one Add of f32[1,1] and a constant), for ONNX Runtime's
per-call overhead.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GEMM_SHAPES = [(1, 1024, 1024), (64, 1024, 1024), (256, 1024, 1024), (1, 256, 1024), (400, 128, 64)]
CONV = {"name": "conv_c64", "C": 64, "K": 64, "H": 56, "W": 56, "R": 3}
OPSET = 13


def model(nodes, inputs, outputs, inits, name):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="qkc-bench")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def save(m, path):
    onnx.save(m, path)


def gemm_models(work, M, N, K, rng):
    tag = f"gemm_{M}x{N}x{K}"
    wf = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
    wi = rng.integers(-128, 128, size=(K, N), dtype=np.int8)
    x = rng.random((M, K), dtype=np.float32)
    np.save(os.path.join(work, f"{tag}_x.npy"), x)
    wf.tofile(os.path.join(work, f"{tag}_W_f32.bin"))
    wi.tofile(os.path.join(work, f"{tag}_W_i8.bin"))

    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [M, K])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [M, N])
    save(model([helper.make_node("MatMul", ["X", "W"], ["Y"])], [X], [Y],
               [numpy_helper.from_array(wf, "W")], tag), os.path.join(work, f"{tag}_f32.onnx"))

    for suffix, at in (("mmi", TensorProto.UINT8), ("mmi_s8", TensorProto.INT8)):
        A = helper.make_tensor_value_info("A", at, [M, K])
        Yi = helper.make_tensor_value_info("Y", TensorProto.INT32, [M, N])
        save(model([helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], [A], [Yi],
                   [numpy_helper.from_array(wi, "B")], tag), os.path.join(work, f"{tag}_{suffix}.onnx"))

    # QLinearMatMul: u8 in (scale 1/255, zp 0), i8 weight per-tensor, u8 out
    # whose scale and zero point cover the int32 sums of full-range u8 inputs
    # (measured on 64 random rows), so few outputs saturate.
    a_s, b_s = float(np.float32(1.0 / 255)), 0.02
    acc = rng.integers(0, 256, size=(64, K)).astype(np.int64) @ wi.astype(np.int64)
    lo, hi = float(acc.min()), float(acc.max())
    y_s = float(np.float32((hi - lo) * 1.1 * a_s * b_s / 255))
    y_zp = int(np.clip(round(-lo * 1.05 * a_s * b_s / y_s), 0, 255))
    A = helper.make_tensor_value_info("A", TensorProto.UINT8, [M, K])
    Yq = helper.make_tensor_value_info("Y", TensorProto.UINT8, [M, N])
    inits = [numpy_helper.from_array(wi, "B"),
             numpy_helper.from_array(np.array(a_s, np.float32), "a_s"),
             numpy_helper.from_array(np.array(0, np.uint8), "a_zp"),
             numpy_helper.from_array(np.array(b_s, np.float32), "b_s"),
             numpy_helper.from_array(np.array(0, np.int8), "b_zp"),
             numpy_helper.from_array(np.array(y_s, np.float32), "y_s"),
             numpy_helper.from_array(np.array(y_zp, np.uint8), "y_zp")]
    save(model([helper.make_node("QLinearMatMul", ["A", "a_s", "a_zp", "B", "b_s", "b_zp", "y_s", "y_zp"],
                                 ["Y"])], [A], [Yq], inits, tag), os.path.join(work, f"{tag}_qlm.onnx"))
    return {"tag": tag, "M": M, "N": N, "K": K, "qlm": {"a_s": a_s, "b_s": b_s, "y_s": y_s, "y_zp": y_zp}}


def conv_models(work, rng):
    c = CONV
    tag, C, K, H, W, R = c["name"], c["C"], c["K"], c["H"], c["W"], c["R"]
    wf = (rng.standard_normal((K, C, R, R)) / np.sqrt(C * R * R)).astype(np.float32)
    bf = (rng.standard_normal(K) * 0.1).astype(np.float32)
    wi = rng.integers(-128, 128, size=(K, C, R, R), dtype=np.int8)
    x = rng.random((1, C, H, W), dtype=np.float32)
    np.save(os.path.join(work, f"{tag}_x.npy"), x)
    wf.tofile(os.path.join(work, f"{tag}_W_f32.bin"))
    bf.tofile(os.path.join(work, f"{tag}_b_f32.bin"))
    wi.tofile(os.path.join(work, f"{tag}_W_i8.bin"))
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, C, H, W])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, K, H, W])
    att = dict(kernel_shape=[R, R], pads=[1, 1, 1, 1], strides=[1, 1])
    save(model([helper.make_node("Conv", ["X", "W", "B"], ["Y"], **att)], [X], [Y],
               [numpy_helper.from_array(wf, "W"), numpy_helper.from_array(bf, "B")], tag),
         os.path.join(work, f"{tag}_f32.onnx"))
    A = helper.make_tensor_value_info("A", TensorProto.UINT8, [1, C, H, W])
    Yi = helper.make_tensor_value_info("Y", TensorProto.INT32, [1, K, H, W])
    save(model([helper.make_node("ConvInteger", ["A", "Wq"], ["Y"], **att)], [A], [Yi],
               [numpy_helper.from_array(wi, "Wq")], tag), os.path.join(work, f"{tag}_ci.onnx"))
    return dict(c, tag=tag)


def torch_models(work):
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                        nn.Linear(1024, 256)).eval()
    torch.save(net.state_dict(), os.path.join(work, "wide_mlp.pt"))
    x = torch.randn(2, 1024)
    path = os.path.join(work, "wide_mlp.onnx")
    torch.onnx.export(net, x, path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=OPSET)


def numpy_wide_mlp(work):
    """The wide MLP without PyTorch: the same layers as Gemm (transB=1) + Relu,
    PyTorch's default init (uniform +-1/sqrt(fan_in)), numpy's generator."""
    rng = np.random.default_rng(0)
    dims = [1024, 1024, 1024, 256]
    nodes, inits, cur = [], [], "input"
    for i in range(3):
        k, n = dims[i], dims[i + 1]
        b = 1 / np.sqrt(k)
        inits += [numpy_helper.from_array(rng.uniform(-b, b, (n, k)).astype(np.float32), f"{2 * i}.weight"),
                  numpy_helper.from_array(rng.uniform(-b, b, n).astype(np.float32), f"{2 * i}.bias")]
        out = "logits" if i == 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [cur, f"{2 * i}.weight", f"{2 * i}.bias"], [out + ("" if i == 2 else "_pre")],
                                      transB=1))
        if i < 2:
            nodes.append(helper.make_node("Relu", [out + "_pre"], [out]))
        cur = out
    X = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1024])
    Y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 256])
    save(model(nodes, [X], [Y], inits, "wide_mlp"), os.path.join(work, "wide_mlp.onnx"))


def trivial_model(work):
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1])
    save(model([helper.make_node("Add", ["X", "one"], ["Y"])], [X], [Y],
               [numpy_helper.from_array(np.ones((1, 1), np.float32), "one")], "trivial"),
         os.path.join(work, "trivial.onnx"))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(12345)
    shapes = [gemm_models(work, M, N, K, rng) for M, N, K in GEMM_SHAPES]
    conv = conv_models(work, rng)
    trivial_model(work)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch:
        torch_models(work)
    else:
        numpy_wide_mlp(work)
    rng2 = np.random.default_rng(8)
    np.save(os.path.join(work, "wide_mlp_calib.npy"), rng2.standard_normal((256, 1024), dtype=np.float32))
    np.save(os.path.join(work, "wide_mlp_x.npy"), rng2.standard_normal((64, 1024), dtype=np.float32))
    with open(os.path.join(work, "models.json"), "w") as f:
        json.dump({"gemm": shapes, "conv": conv}, f, indent=1)
    # the cases of bench/gemm_peers.c, one a line
    with open(os.path.join(work, "cases.txt"), "w") as f:
        for s in shapes:
            q = s["qlm"]
            f.write(f"gemm {s['tag']} {s['M']} {s['N']} {s['K']} {q['a_s']!r} {q['b_s']!r} {q['y_s']!r} {q['y_zp']}\n")
        f.write(f"conv {conv['tag']} {conv['C']} {conv['K']} {conv['H']} {conv['W']} {conv['R']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
