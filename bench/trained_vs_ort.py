#!/usr/bin/env python3
"""trained_vs_ort.py -- accuracy of qkc's fp16 and int8 on the trained real
architectures of models/ (resnet_digits, mobilenet_digits, seqformer: see
models/README.md) against ONNX Runtime's quantizers, on the same data.

    python3 bench/trained_vs_ort.py --build build

For each model, on its test set (360 digits, or the 512 sequences of
models/seq_task.py) with its labels:

  qkc   fp32, fp16, int8 (qkc's defaults: --precision int8 --calib, the
        same calibration samples) and int8-dynamic (no data) compiled for
        this machine, run by `qkc run`;
  ORT   the fp32 model; quantize_static after quant_pre_process (QDQ, MinMax,
        per-channel QInt8 weights, QUInt8 activations, reduce_range off, the
        same calibration samples one at a time); quantize_dynamic (QInt8
        weights, per-channel: the transformers' usual choice; no data).

Accuracy against the labels, and SQNR against ORT's fp32 logits. Needs
onnxruntime and onnx (PyPI); without them it says so and exits 0. Exit 1
when qkc fails."""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(ROOT, "models")

try:
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
except ImportError as e:
    print("trained_vs_ort: skipped: onnxruntime not installed (%s): %s -m pip install onnxruntime onnx" % (
        e, sys.executable))
    sys.exit(0)


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def sqnr(q, ref):
    ref = ref.astype(np.float64)
    noise = np.sum((q.astype(np.float64) - ref) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    qkc = os.path.join(os.path.abspath(a.build), "qkc")
    if not os.access(qkc, os.X_OK):
        sys.exit("trained_vs_ort: %s not found: run `make build` first" % qkc)
    spec = importlib.util.spec_from_file_location("seq_task", os.path.join(MODELS, "seq_task.py"))
    seq_task = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seq_task)
    tmp = tempfile.mkdtemp(prefix="qkc-trained-")
    os.chdir(tmp)  # ONNX Runtime's quantizer may leave temporary files in the current directory
    ids, ids_y = seq_task.test_set()
    np.save("seq_x.npy", ids)
    np.save("seq_calib.npy", seq_task.calib_set())
    digits = (os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy"),
              os.path.join(MODELS, "digits_calib_x.npy"), "input")
    cases = [("resnet_digits", digits), ("mobilenet_digits", digits),
             ("seqformer", (os.path.join(tmp, "seq_x.npy"), None, os.path.join(tmp, "seq_calib.npy"), "ids"))]
    print("trained_vs_ort: CPU %s; onnxruntime %s" % (cpu_name(), ort.__version__))
    print("\n| model | qkc fp32 | qkc fp16 | qkc int8 (SQNR) | qkc int8-dynamic (SQNR) | ORT fp32 | "
          "ORT quantize_static (SQNR) | ORT quantize_dynamic (SQNR) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    for name, (xp, yp, cp, iname) in cases:
        src = os.path.join(MODELS, name + ".onnx")
        x, cal = np.load(xp), np.load(cp)
        y = np.load(yp) if yp else ids_y

        def ort_run(model):
            return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]).run(["logits"], {iname: x})[0]

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.i = 0

            def get_next(self):
                if self.i >= len(cal):
                    return None
                self.i += 1
                return {iname: cal[self.i - 1:self.i]}

        ref = ort_run(src)
        pre = name + "_pre.onnx"
        try:
            quant_pre_process(src, pre)
        except Exception:
            pre = src
        quantize_static(pre, name + "_static.onnx", Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        quantize_dynamic(pre, name + "_dynamic.onnx", weight_type=QuantType.QInt8, per_channel=True)
        outs = {"ORT static": ort_run(name + "_static.onnx"), "ORT dynamic": ort_run(name + "_dynamic.onnx")}
        for prec, flags in (("fp32", []), ("fp16", ["--precision", "fp16"]),
                            ("int8", ["--precision", "int8", "--calib", cp]),
                            ("int8-dynamic", ["--precision", "int8-dynamic"])):
            art = os.path.join(tmp, "%s_%s.so" % (name, prec))
            p = subprocess.run([qkc, "compile", src, "-o", art] + flags, capture_output=True, text=True)
            r = p.returncode == 0 and subprocess.run([qkc, "run", art, "-i", "%s=%s" % (iname, xp), "-d",
                                                      os.path.join(tmp, name + prec)], capture_output=True, text=True)
            if p.returncode != 0 or r.returncode != 0:
                print("trained_vs_ort: qkc failed on %s %s:\n%s" % (name, prec, (p.stderr + (r.stderr if r else ""))[-2000:]))
                return 1
            outs["qkc " + prec] = np.load(os.path.join(tmp, name + prec, "logits.npy"))

        def acc(o):
            return "%.2f%%" % (100 * float(np.mean(o.argmax(1) == y)))

        print("| %s | %s | %s | %s (%.1f dB) | %s (%.1f dB) | %s | %s (%.1f dB) | %s (%.1f dB) |" % (
            name, acc(outs["qkc fp32"]), acc(outs["qkc fp16"]), acc(outs["qkc int8"]), sqnr(outs["qkc int8"], ref),
            acc(outs["qkc int8-dynamic"]), sqnr(outs["qkc int8-dynamic"], ref), acc(ref), acc(outs["ORT static"]), sqnr(outs["ORT static"], ref), acc(outs["ORT dynamic"]),
            sqnr(outs["ORT dynamic"], ref)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
