#!/usr/bin/env python3
"""Make the ONNX Runtime-quantized test models in models/quantized/.

Run with a Python that has ONNX Runtime (the PyPI python3 on PATH, NOT Debian's
/usr/bin/python3, which lacks onnxruntime):

    python3 -m pip install onnxruntime onnx numpy
    python3 models/quantized/make_ort.py

From models/mlp.onnx and models/cnn.onnx it writes, next to this script:

    {mlp,cnn}_qdq_s8_pt.onnx    QDQ, activations QInt8,  weights QInt8 per-tensor
    {mlp,cnn}_qdq_s8_pc.onnx    QDQ, activations QInt8,  weights QInt8 per-channel
    {mlp,cnn}_qdq_u8_pc.onnx    QDQ, activations QUInt8, weights QInt8 per-channel
    {mlp,cnn}_qop_u8_pt.onnx    QOperator, activations QUInt8, weights QInt8 per-tensor
    {mlp,cnn}_qop_s8_pc.onnx    QOperator, activations QInt8,  weights QInt8 per-channel
    cnn_qdq_s8_fullrange.onnx   cnn_qdq_s8_pc with every Conv/Gemm weight re-quantized
                                per channel to the full int8 range [-128,127] (zero point
                                0, scale max(-min/128, max/127)); the channels whose most
                                negative weight dominates hold -128. Bias re-quantized
                                with scale s_x*s_w as ORT does.
    cnn_qdq_s8_pc_nopre.onnx    like cnn_qdq_s8_pc but WITHOUT quant_pre_process, so the
                                BatchNormalization nodes stay (and ORT quantizes their
                                scale/bias as weights)
    mlp_mm_qop_u8_pt.onnx       mlp.onnx with each Gemm rewritten as MatMul(x, W^T) + Add(b)
    mlp_mm_qop_s8_pc.onnx       (in memory, not saved), quantized WITHOUT quant_pre_process
    mlp_mm_qdq_s8_pc.onnx       (its optimizer fuses MatMul+Add back into Gemm): the only
                                way to get ai.onnx QLinearMatMul (+ com.microsoft QLinearAdd
                                for the bias) and per-channel MatMul weights (axis=1); the
                                Gemm models get com.microsoft QGemm in QOperator format
    ort_results.json            ORT's accuracy on the 360 test images and the SQNR of
                                ORT's logits vs ORT's fp32 logits, per model

If cnn_qat.onnx (made by make_qat.py) is present, it is checked with ORT too and its
numbers go into ort_results.json.

Every model except *_nopre and mlp_mm_* goes through onnxruntime.quantization.quant_pre_process
first (symbolic shape inference + ORT basic graph optimisation, which folds
BatchNormalization into the Conv before it); that is the preprocessing ORT's
quantization docs recommend. Calibration: MinMax (ORT's default), reduce_range=False,
the 200 images of models/digits_calib_x.npy fed one at a time, in file order.
"""
import json
import os
import sys
import tempfile

# One BLAS thread: onnx.reference computes Conv/Gemm with numpy, and the summation order
# (thread count) moves a few values across rounding boundaries of the next QuantizeLinear.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                      QuantFormat, QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
SEED = 0

# name -> (quant_format, activation_type, weight_type, per_channel)
CONFIGS = {
    "qdq_s8_pt": (QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, False),
    "qdq_s8_pc": (QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, True),
    "qdq_u8_pc": (QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8, True),
    "qop_u8_pt": (QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, False),
    "qop_s8_pc": (QuantFormat.QOperator, QuantType.QInt8, QuantType.QInt8, True),
}


class DigitsCalib(CalibrationDataReader):
    """The 200 calibration images, one per call (batch 1), in file order."""

    def __init__(self, x):
        self.x = x
        self.i = 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        self.i += 1
        return {"input": self.x[self.i - 1:self.i]}

    def rewind(self):
        self.i = 0


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run_logits(path, x):
    s = session(path)
    assert [i.name for i in s.get_inputs()] == ["input"]
    assert [o.name for o in s.get_outputs()] == ["logits"]
    b360 = s.run(["logits"], {"input": x})[0]
    b1 = np.concatenate([s.run(["logits"], {"input": x[i:i + 1]})[0] for i in range(len(x))])
    return b360, b1


def sqnr_db(ref, y):
    ref = ref.astype(np.float64)
    err = y.astype(np.float64) - ref
    return float(10 * np.log10((ref ** 2).sum() / max((err ** 2).sum(), 1e-300)))


def op_list(m):
    """Op types with domain, in first-appearance order, with counts."""
    counts = {}
    for n in m.graph.node:
        key = (n.domain or "ai.onnx") + "::" + n.op_type
        counts[key] = counts.get(key, 0) + 1
    return counts


def io_qdq(m):
    """Which nodes consume the graph input and produce the graph output."""
    inp = m.graph.input[0].name
    out = m.graph.output[0].name
    consumers = [n.op_type for n in m.graph.node if inp in n.input]
    producers = [n.op_type for n in m.graph.node if out in n.output]
    return consumers, producers


def per_axis_info(m):
    """(op, axis attribute, scale length) for every Q/DQ-style node with a 1-D scale of length > 1."""
    inits = {i.name: i for i in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 1:
            sc = inits.get(n.input[1])
            if sc is not None and len(sc.dims) == 1 and sc.dims[0] > 1:
                axis = [a.i for a in n.attribute if a.name == "axis"]
                out.append(f"{n.op_type}(axis={axis[0] if axis else 'default 1'}, len={sc.dims[0]})")
        if n.op_type in ("QLinearConv", "QLinearMatMul", "QGemm"):
            # w_scale / b_scale is input 4 of all three
            sc = inits.get(n.input[4])
            if sc is not None and len(sc.dims) == 1 and sc.dims[0] > 1:
                out.append(f"{n.op_type}(w_scale len={sc.dims[0]})")
    return sorted(set(out))


def gemm_to_matmul(src, dst):
    """mlp.onnx with every Gemm(transB=1, alpha=beta=1, bias) replaced by MatMul(x, W^T) + Add(b)."""
    m = onnx.load(src)
    inits = {i.name: i for i in m.graph.initializer}
    nodes = []
    for n in m.graph.node:
        if n.op_type != "Gemm":
            nodes.append(n)
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        assert attrs.get("transB") == 1 and attrs.get("transA", 0) == 0
        assert attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
        x_, w, b = n.input
        wt = numpy_helper.to_array(inits[w])
        inits[w].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(wt.T), w))
        mm = n.output[0] + "_mm"
        nodes.append(onnx.helper.make_node("MatMul", [x_, w], [mm], name=n.name + "_MatMul"))
        nodes.append(onnx.helper.make_node("Add", [mm, b], [n.output[0]], name=n.name + "_Add"))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, dst)


def reference_logits(path, x):
    """ONNX's reference evaluator (onnx.reference) on a model whose ops are all ai.onnx.

    onnx 1.23's reference has no DequantizeLinear-13 kernel (only 19+), so the ai.onnx
    opset is bumped to 19 in memory; for int8/uint8 Q/DQ and the other ops here the
    semantics of 13 and 19 are the same. Returns None for models with com.microsoft ops.
    """
    from onnx.reference import ReferenceEvaluator
    m = onnx.load(path)
    if any(n.domain not in ("", "ai.onnx") for n in m.graph.node):
        return None
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx") and o.version < 19:
            o.version = 19
    return ReferenceEvaluator(m).run(["logits"], {"input": x})[0]


def make_fullrange(qdq_path, float_path, out_path):
    """Re-quantize every per-channel Conv/Gemm weight of a QDQ model to the full int8 range.

    Per output channel c (axis 0 of the weight): s'_c = max(-min(w_c)/128, max(w_c)/127),
    q = clip(rne(w/s'_c), -128, 127), zero point 0. The dequantized weights stay within
    s'_c/2 <= s_c/2 of the float weights, i.e. the model means the same (slightly finer
    grid than ORT's max|w|/127). The bias (int32, zero point 0) is re-quantized from the
    float bias with scale float32(s_x * s'_w), exactly like ORT's quantize_bias_static.
    """
    m = onnx.load(qdq_path)
    fm = onnx.load(float_path)
    finits = {i.name: numpy_helper.to_array(i) for i in fm.graph.initializer}
    fnodes = {n.name: n for n in fm.graph.node}
    inits = {i.name: i for i in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}

    def dq_inputs(tensor):
        n = producer[tensor]
        assert n.op_type == "DequantizeLinear", (tensor, n.op_type)
        return n

    def set_init(name, arr):
        new = numpy_helper.from_array(arr, name)
        inits[name].CopyFrom(new)

    report = []
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm"):
            continue
        fn = fnodes[n.name]
        w = finits[fn.input[1]].astype(np.float32)
        b = finits[fn.input[2]].astype(np.float32)
        if n.op_type == "Gemm":
            assert [a.i for a in fn.attribute if a.name == "transB"] == [1]
        wdq = dq_inputs(n.input[1])
        bdq = dq_inputs(n.input[2])
        xdq = dq_inputs(n.input[0])
        assert [a.i for a in wdq.attribute if a.name == "axis"] == [0]
        x_scale = numpy_helper.to_array(inits[xdq.input[1]]).astype(np.float32)
        old_q = numpy_helper.to_array(inits[wdq.input[0]])
        old_s = numpy_helper.to_array(inits[wdq.input[1]])
        zp = numpy_helper.to_array(inits[wdq.input[2]])
        assert old_q.dtype == np.int8 and (zp == 0).all() and old_s.shape == (w.shape[0],)

        wc = w.reshape(w.shape[0], -1).astype(np.float64)
        s = np.maximum(-wc.min(axis=1) / 128.0, wc.max(axis=1) / 127.0)
        s = np.where(s > 0, s, 1.0).astype(np.float32)
        q = np.clip(np.rint(wc / s.astype(np.float64)[:, None]), -128, 127).astype(np.int8)
        q = q.reshape(w.shape)
        set_init(wdq.input[0], q)
        set_init(wdq.input[1], s)

        bs = (x_scale * s).astype(np.float32)        # ORT: input_scale * weight_scale
        qb = np.rint(b.astype(np.float64) / bs.astype(np.float64))
        qb = np.clip(qb, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
        assert numpy_helper.to_array(inits[bdq.input[1]]).shape == bs.shape
        set_init(bdq.input[0], qb)
        set_init(bdq.input[1], bs)

        qc = q.reshape(q.shape[0], -1)
        n128 = int((qc.min(axis=1) == -128).sum())
        n127 = int((qc.max(axis=1) == 127).sum())
        old_err = np.abs(old_q.reshape(wc.shape) * old_s[:, None].astype(np.float64) - wc).max()
        new_err = np.abs(qc * s[:, None].astype(np.float64) - wc).max()
        assert n128 >= 1, f"{n.name}: no channel reaches -128"
        report.append(f"{n.name}: {n128}/{q.shape[0]} channels hold -128, {n127} hold 127, "
                      f"max|deq(w)-w| {old_err:.3g} -> {new_err:.3g}")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, out_path)
    return report


def describe(path):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = op_list(m)
    cons, prods = io_qdq(m)
    opsets = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    return m, ops, cons, prods, opsets


def main():
    np.random.seed(SEED)
    x_cal = np.load(os.path.join(MODELS, "digits_calib_x.npy"))
    x = np.load(os.path.join(MODELS, "digits_test_x.npy"))
    y = np.load(os.path.join(MODELS, "digits_test_y.npy"))
    assert x_cal.shape == (200, 1, 8, 8) and x_cal.dtype == np.float32
    assert x.shape == (360, 1, 8, 8) and y.shape == (360,)

    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}")
    results = {
        "versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__,
                     "numpy": np.__version__},
        "calibration": "MinMax, 200 images of digits_calib_x.npy at batch 1, reduce_range=False",
        "sqnr": "10*log10(sum(ref^2)/sum((q-ref)^2)) over all 360x10 logits; ref = ORT fp32 logits "
                "of models/<mlp|cnn>.onnx; the batch-360 run",
        "fp32": {},
        "quantized": {},
    }
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ref = {}
        pre = {}
        for base in ["mlp", "cnn"]:
            src = os.path.join(MODELS, base + ".onnx")
            l360, l1 = run_logits(src, x)
            ref[base] = l360
            acc = float((l360.argmax(1) == y).mean())
            results["fp32"][base] = {"file": f"models/{base}.onnx",
                                     "accuracy": acc, "correct": int((l360.argmax(1) == y).sum()),
                                     "max_abs_diff_batch1_vs_batch360": float(np.abs(l1 - l360).max())}
            print(f"fp32 {base}.onnx: ORT accuracy {acc * 100:.2f}%")
            pre[base] = os.path.join(tmp, base + "_pre.onnx")
            quant_pre_process(src, pre[base])
        mm = os.path.join(tmp, "mlp_mm.onnx")
        gemm_to_matmul(os.path.join(MODELS, "mlp.onnx"), mm)
        l360, _ = run_logits(mm, x)
        results["fp32"]["mlp_mm"] = {
            "file": "mlp.onnx with Gemm -> MatMul+Add (made in memory by make_ort.py, not saved)",
            "accuracy": float((l360.argmax(1) == y).mean()),
            "correct": int((l360.argmax(1) == y).sum()),
            "max_abs_diff_vs_mlp": float(np.abs(l360 - ref["mlp"]).max())}

        jobs = []
        for base in ["mlp", "cnn"]:
            for cname, cfg in CONFIGS.items():
                jobs.append((f"{base}_{cname}", base, cfg, pre[base]))
        jobs.append(("cnn_qdq_s8_pc_nopre", "cnn", CONFIGS["qdq_s8_pc"],
                     os.path.join(MODELS, "cnn.onnx")))
        for cname in ["qop_u8_pt", "qop_s8_pc", "qdq_s8_pc"]:
            jobs.append((f"mlp_mm_{cname}", "mlp", CONFIGS[cname], mm))

        for name, base, (fmt, at, wt, pc), src in jobs:
            out = os.path.join(HERE, name + ".onnx")
            quantize_static(src, out, DigitsCalib(x_cal), quant_format=fmt,
                            per_channel=pc, reduce_range=False, activation_type=at,
                            weight_type=wt, calibrate_method=CalibrationMethod.MinMax)
            results["quantized"][name] = {
                "base": base, "format": fmt.name, "activation_type": at.name,
                "weight_type": wt.name, "per_channel": pc,
                "preprocessed": src in pre.values(),
                "float_source": {pre["mlp"]: "models/mlp.onnx", pre["cnn"]: "models/cnn.onnx",
                                 mm: "models/mlp.onnx, Gemm -> MatMul+Add"}.get(
                                     src, os.path.relpath(src, os.path.dirname(MODELS)))}
            if name == "cnn_qdq_s8_pc":
                fr = os.path.join(HERE, "cnn_qdq_s8_fullrange.onnx")
                rep = make_fullrange(out, pre["cnn"], fr)
                print("cnn_qdq_s8_fullrange.onnx: post-edit of cnn_qdq_s8_pc.onnx")
                for r in rep:
                    print("    " + r)
                results["quantized"]["cnn_qdq_s8_fullrange"] = dict(
                    results["quantized"][name], fullrange_edit=rep)

    for name, info in results["quantized"].items():
        path = os.path.join(HERE, name + ".onnx")
        m, ops, cons, prods, opsets = describe(path)
        base = info["base"]
        l360, l1 = run_logits(path, x)
        pred = l360.argmax(1)
        acc = float((pred == y).mean())
        acc1 = float((l1.argmax(1) == y).mean())
        s = sqnr_db(ref[base], l360)
        agree = float((pred == ref[base].argmax(1)).mean())
        r = reference_logits(path, x)
        if r is not None:
            lsb = float(numpy_helper.to_array(
                [i for i in m.graph.initializer if i.name == "logits_scale"][0]))
            info["onnx_reference"] = {
                "accuracy": float((r.argmax(1) == y).mean()),
                "logits_differing_from_ort": int((r != l360).sum()),
                "max_abs_diff_vs_ort": float(np.abs(r - l360).max()),
                "max_abs_diff_vs_ort_in_output_lsb": round(float(np.abs(r - l360).max()) / lsb, 3)}
        info.update({
            "file": f"models/quantized/{name}.onnx",
            "bytes": os.path.getsize(path),
            "ops": ops,
            "opset_import": opsets,
            "input_consumers": cons, "output_producers": prods,
            "per_axis": per_axis_info(m),
            "accuracy": acc, "correct": int((pred == y).sum()),
            "accuracy_batch1": acc1,
            "max_abs_diff_batch1_vs_batch360": float(np.abs(l1 - l360).max()),
            "sqnr_db_vs_fp32": round(s, 3),
            "argmax_agreement_vs_fp32": agree,
            "max_abs_logit_err_vs_fp32": float(np.abs(l360 - ref[base]).max()),
        })
        fp = results["fp32"][base]["accuracy"]
        print(f"{name}.onnx ({info['bytes']} bytes): ORT accuracy {acc * 100:.2f}% "
              f"(batch 1: {acc1 * 100:.2f}%), fp32 {fp * 100:.2f}%, "
              f"SQNR {s:.2f} dB, argmax agreement with fp32 {agree * 100:.2f}%")
        print(f"    opsets {opsets}")
        print("    ops " + ", ".join(f"{k} x{v}" for k, v in ops.items()))
        print(f"    input 'input' -> {cons}; 'logits' <- {prods}")
        if r is not None:
            ri = info["onnx_reference"]
            print(f"    onnx.reference: accuracy {ri['accuracy'] * 100:.2f}%, "
                  f"{ri['logits_differing_from_ort']}/3600 logits differ from ORT, "
                  f"max {ri['max_abs_diff_vs_ort_in_output_lsb']} output LSB")
        if info["per_axis"]:
            print("    per-axis: " + "; ".join(info["per_axis"]))
        if info["bytes"] >= 200_000:
            print(f"    {name}: too big", file=sys.stderr)
            ok = False

    qat = os.path.join(HERE, "cnn_qat.onnx")
    if os.path.exists(qat):
        # made by make_qat.py (Debian python, torch 1.13); checked here with ORT
        m, ops, cons, prods, opsets = describe(qat)
        l360, l1 = run_logits(qat, x)
        tl = np.load(os.path.join(HERE, "cnn_qat_torch_logits.npy"))
        out_dq = [n for n in m.graph.node if "logits" in n.output][0]
        consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                  for n in m.graph.node if n.op_type == "Constant"}
        lsb = float(consts[out_dq.input[1]])
        r = reference_logits(qat, x)
        info = {
            "file": "models/quantized/cnn_qat.onnx", "made_by": "make_qat.py (torch QAT)",
            "bytes": os.path.getsize(qat), "ops": ops, "opset_import": opsets,
            "input_consumers": cons, "output_producers": prods,
            "per_axis": per_axis_info(m),
            "accuracy": float((l360.argmax(1) == y).mean()),
            "correct": int((l360.argmax(1) == y).sum()),
            "accuracy_batch1": float((l1.argmax(1) == y).mean()),
            "max_abs_diff_batch1_vs_batch360": float(np.abs(l1 - l360).max()),
            "accuracy_torch_int8": float((tl.argmax(1) == y).mean()),
            "logits_differing_from_torch": int((tl != l360).sum()),
            "max_abs_diff_vs_torch_in_output_lsb": round(float(np.abs(tl - l360).max()) / lsb, 3),
            "sqnr_db_vs_torch_int8": round(sqnr_db(tl, l360), 3),
            "sqnr_db_vs_cnn_fp32": round(sqnr_db(ref["cnn"], l360), 3),
            "sqnr_note": "vs models/cnn.onnx, the float model QAT started from; QAT "
                         "fine-tuned the weights, so this is not a pure quantization error",
            "onnx_reference": None if r is None else {
                "accuracy": float((r.argmax(1) == y).mean()),
                "logits_differing_from_ort": int((r != l360).sum()),
                "max_abs_diff_vs_ort_in_output_lsb": round(float(np.abs(r - l360).max()) / lsb, 3)},
        }
        results["quantized"]["cnn_qat"] = info
        print(f"cnn_qat.onnx ({info['bytes']} bytes): ORT accuracy {info['accuracy'] * 100:.2f}% "
              f"(batch 1: {info['accuracy_batch1'] * 100:.2f}%), PyTorch int8 "
              f"{info['accuracy_torch_int8'] * 100:.2f}%; {info['logits_differing_from_torch']}"
              f"/3600 logits differ from PyTorch's, max "
              f"{info['max_abs_diff_vs_torch_in_output_lsb']} output LSB (SQNR vs PyTorch "
              f"{info['sqnr_db_vs_torch_int8']:.2f} dB); SQNR vs cnn.onnx fp32 "
              f"{info['sqnr_db_vs_cnn_fp32']:.2f} dB")
        print("    ops " + ", ".join(f"{k} x{v}" for k, v in ops.items()))
        if r is not None:
            ri = info["onnx_reference"]
            print(f"    onnx.reference: accuracy {ri['accuracy'] * 100:.2f}%, "
                  f"{ri['logits_differing_from_ort']}/3600 logits differ from ORT, "
                  f"max {ri['max_abs_diff_vs_ort_in_output_lsb']} output LSB")
    else:
        print("cnn_qat.onnx not found: run /usr/bin/python3 models/quantized/make_qat.py first")

    with open(os.path.join(HERE, "ort_results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote ort_results.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
