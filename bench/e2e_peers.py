#!/usr/bin/env python3
"""End-to-end latency of qkc against ONNX Runtime, Apache TVM and IREE
(run by bench/perf.py with the PyPI Python; writes one JSON file).

    python3 bench/e2e_peers.py SPEC.json OUT.json [ort|tvm|iree]

perf.py runs each part in a process of its own (a peer that crashes or hangs
costs only its own part, and one runtime's threads or allocator cannot
disturb another's timings). SPEC (written by perf.py) names the build, the
models (ONNX file, batch-64 input, calibration data, qkc's fp32 and int8
artifacts) and the options.

ort: ONNX Runtime (CPUExecutionProvider, InferenceSession.run from this
process; intra_op_num_threads = T, sequential execution, all graph
optimizations):
  fp32  the model as it is;
  int8  quant_pre_process, then quantize_static (QDQ, MinMax, per-channel
        QInt8 weights, QUInt8 activations, reduce_range=False) calibrated on
        the same data as qkc's --calib, timed; the QDQ model's path is
        returned so that the tvm and iree parts can compile it.
  qkc: its artifacts through ctypes over libqkrt (one context per thread
  count). Every (model, precision, batch, threads) cell alternates qkc and
  ORT in rounds and keeps the medians. ORT's per-call overhead: a one-Add
  model, beside qkc's on the same model.

tvm / iree: one thread, on fixed-batch copies of each model (batch 1 and 64),
fp32 (the model) and int8 (ORT's QDQ model, when SPEC has aot_int8): compile
time (import + compile + export), artifact size, latency alternating with
qkc's artifact of the same precision, SQNR against qkc's fp32 output.
  TVM   relax.frontend.onnx.from_onnx, the CPU pipeline with dlight's CPU
        default schedules (GEMV, Reduction), no MetaSchedule tuning; target
        llvm with this CPU; run by relax.VirtualMachine.
  IREE  iree-import-onnx --opset-version 17, iree-compile
        --iree-hal-target-device=local
        --iree-hal-local-target-device-backends=llvm-cpu
        --iree-llvmcpu-target-cpu=host; run on the local-sync driver (one
        thread), input uploaded once.
A peer that does not install or fails is reported with the reason. Exit
status 1 when qkc fails (QkcFailure); qkc's wrong outputs are listed in
"qkc_wrong" for perf.py to fail on.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TVM_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from benchlib import Qkrt, QkcFailure, alternate, build_qkrt_so, dump, sqnr_db  # noqa: E402


T0 = time.perf_counter()


def log(msg):
    """Progress on stderr (perf.py shows it as the run goes)."""
    print(f"  [e2e_peers {time.perf_counter() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def pkg_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def err_text(e):
    s = str(e).strip().splitlines()
    return (s[-1] if s else type(e).__name__)[:300]


def ort_session(ort, path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_quantize(m, tmp):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calib = np.load(m["calib"])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(calib):
                return None
            b = {m["input"]: calib[self.i:self.i + 16]}
            self.i += 16
            return b

        def rewind(self):
            self.i = 0

    pre = os.path.join(tmp, m["name"] + "_pre.onnx")
    out = os.path.join(tmp, m["name"] + "_ort_int8.onnx")
    t0 = time.perf_counter()
    quant_pre_process(m["onnx"], pre)
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    return out, time.perf_counter() - t0


def fixed_batch(m, batch, tmp, tag):
    import onnx
    g = onnx.load(m["onnx"])
    for v in list(g.graph.input) + list(g.graph.output):
        d = v.type.tensor_type.shape.dim[0]
        d.Clear()
        d.dim_value = batch
    path = os.path.join(tmp, f"{tag}_b{batch}.onnx")
    onnx.save(g, path)
    return path, g.graph.name


# ------------------------------------------------------------------ TVM

def tvm_build(path, batch, in_name, in_shape, tmp, name):
    import tvm
    from tvm import relax
    from tvm.relax.backend.cpu_generic import pipeline as P
    from tvm.relax.frontend.onnx import from_onnx
    import onnx
    try:
        import tvm.s_tir.dlight as dl
    except ImportError:
        import tvm.dlight as dl
    t0 = time.perf_counter()
    mod = from_onnx(onnx.load(path), shape_dict={in_name: [batch] + list(in_shape)}, keep_params_in_input=False)
    tgt = tvm.target.Target({"kind": "llvm", "mcpu": host_cpu_llvm()})
    seq = tvm.transform.Sequential(
        [relax.transform.DecomposeOpsForInference()] + P.library_dispatch_passes(tgt) + P.legalize_passes(tgt)
        + [dl.ApplyDefaultSchedule(dl.cpu.GEMV(), dl.cpu.Reduction())] + P.dataflow_lower_passes(tgt)
        + P.finalize_passes(tgt))
    with tgt:
        mod = seq(mod)
    ex = tvm.compile(mod, target=tgt, relax_pipeline=None)
    so = os.path.join(tmp, f"{name}_b{batch}_tvm.so")
    ex.export_library(so)
    secs = time.perf_counter() - t0
    dev = tvm.cpu()
    vm = relax.VirtualMachine(tvm.runtime.load_module(so), dev)
    return so, secs, vm, dev


def host_cpu_llvm():
    try:
        import tvm
        f = tvm.get_global_func("tvm.codegen.llvm.GetHostCPUName", allow_missing=True)
        if f is not None:
            return str(f())
    except Exception:
        pass
    return "znver4"


def tvm_runner(vm, dev, x):
    import tvm
    mk = getattr(tvm.runtime, "tensor", None) or tvm.nd.array
    xt = mk(x, dev)
    f = vm["main"]

    def run():
        return f(xt)
    run.keep = (vm, xt)
    out = run()
    out = out[0] if isinstance(out, (list, tuple)) else out
    return run, out.numpy()


# ------------------------------------------------------------------ IREE

def iree_build(path, tmp, name, batch):
    mlir = os.path.join(tmp, f"{name}_b{batch}.mlir")
    vmfb = os.path.join(tmp, f"{name}_b{batch}.vmfb")
    bindir = os.path.dirname(sys.executable)
    imp = os.path.join(bindir, "iree-import-onnx")
    comp = os.path.join(bindir, "iree-compile")
    t0 = time.perf_counter()
    # --opset-version 17: its ONNX importer does not lower opset-13 BatchNormalization
    for cmd in ([imp, path, "--opset-version", "17", "-o", mlir],
                [comp, mlir, "--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
                 "--iree-llvmcpu-target-cpu=host", "-o", vmfb]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cmd[0])} failed: {(p.stderr or p.stdout).strip()[-300:]}")
    return vmfb, time.perf_counter() - t0


def iree_runner(vmfb, fname, x):
    import iree.runtime as rt
    config = rt.Config("local-sync")
    ctx = rt.SystemContext(config=config)
    with open(vmfb, "rb") as f:
        ctx.add_vm_module(rt.VmModule.copy_buffer(ctx.instance, f.read()))
    f = ctx.modules.module[fname]
    xd = rt.asdevicearray(config.device, x)

    def run():
        return f(xd)
    run.keep = (config, ctx, f, xd)  # the context must outlive the calls
    out = run()
    out = out[0] if isinstance(out, (list, tuple)) else out
    return run, np.asarray(out.to_host())


# ------------------------------------------------------------------ main

def ort_part(spec, res, qk, tmp):
    try:
        import onnxruntime as ort
        res["versions"]["onnxruntime"] = ort.__version__
    except ImportError as e:
        res["skipped"]["onnxruntime"] = f"not installed for {sys.executable} ({e}): {sys.executable} -m pip install onnxruntime"
        return
    rounds, block = spec["rounds"], spec["block_s"]

    # ---- ORT per-call overhead, beside qkc's, on a one-Add model
    log("ORT per-call overhead (trivial model)")
    x = np.ones((1, 1), np.float32)
    s = ort_session(ort, spec["trivial"]["onnx"], 1)
    fq, _ = qk.runner(spec["trivial"]["qkc"], x, (1, 1), 1)
    t = alternate({"qkc": fq, "ort": lambda: s.run(None, {"X": x})}, rounds, block)
    res["overhead"] = {"qkc_us": t["qkc"][0] * 1e6, "ort_us": t["ort"][0] * 1e6}
    qk.close_all()

    # ---- qkc vs ORT, fp32 and int8
    for m in spec["models"]:
        xall = np.load(m["data"])
        ref_sess = ort_session(ort, m["onnx"], 1)
        ort_models = {"fp32": m["onnx"]}
        log(f"{m['name']}: ORT quantize_static")
        try:
            ort_models["int8"], qsecs = ort_quantize(m, tmp)
            m["ort_int8_s"] = qsecs
            m["ort_int8_onnx"] = ort_models["int8"]
            m["ort_int8_bytes"] = os.path.getsize(ort_models["int8"])
        except Exception as e:  # ORT's quantizer failing is ORT's problem: report it
            res["problems"].append(f"ORT quantize_static on {m['name']}: {err_text(e)}")
        log(f"{m['name']}: qkc vs ORT")
        for prec, path in ort_models.items():
            for T in spec["threads"]:
                sess = ort_session(ort, path, T)
                for B in spec["batches"]:
                    x = np.ascontiguousarray(xall[:B])
                    ref = ref_sess.run(None, {m["input"]: x})[0]
                    fq, yq = qk.runner(m["qkc_" + prec], x, ref.shape, T)
                    yq = yq.copy()
                    yo = sess.run(None, {m["input"]: x})[0]
                    t = alternate({"qkc": fq, "ort": lambda: sess.run(None, {m["input"]: x})}, rounds, block,
                                  cooldown_s=spec["cooldown_s"] if T > 1 else 0)
                    row = {"model": m["name"], "prec": prec, "threads": T, "batch": B,
                           "qkc_us": t["qkc"][0] * 1e6, "ort_us": t["ort"][0] * 1e6,
                           "qkc_sqnr": sqnr_db(ref, yq), "ort_sqnr": sqnr_db(ref, yo),
                           "qkc_agree": float((yq.argmax(1) == ref.argmax(1)).mean()),
                           "ort_agree": float((yo.argmax(1) == ref.argmax(1)).mean())}
                    if prec == "fp32" and row["qkc_sqnr"] < 80:
                        res["qkc_wrong"].append(f"qkc fp32 {m['name']} batch {B} {T}T: output differs from ORT's "
                                                f"(SQNR {row['qkc_sqnr']:.1f} dB)")
                    if prec == "int8" and row["qkc_sqnr"] < 20:
                        res["qkc_wrong"].append(f"qkc int8 {m['name']} batch {B} {T}T: output far from ORT's fp32 "
                                                f"(SQNR {row['qkc_sqnr']:.1f} dB)")
                    res["ort"].append(row)
                    qk.close_all()
    res["models"] = spec["models"]


def aot_part(spec, res, qk, tmp, peer):
    """TVM or IREE (peer), fp32 and (where its compiler takes ORT's QDQ model) int8,
    1 thread, fixed-batch copies of each model; alternating with qkc's artifact."""
    try:
        if peer == "tvm":
            import tvm
            res["versions"]["tvm"] = pkg_version("apache-tvm") or tvm.__version__
        else:
            import iree.compiler  # noqa: F401
            import iree.runtime  # noqa: F401
            res["versions"]["iree"] = pkg_version("iree-base-compiler")
    except Exception as e:
        pk = "apache-tvm" if peer == "tvm" else "iree-base-compiler iree-base-runtime"
        res["skipped"][peer] = f"not importable for {sys.executable} ({err_text(e)}): {sys.executable} -m pip install {pk}"
        return
    rounds, block = max(3, spec["rounds"] - 2), spec["block_s"]
    for m in spec["models"]:
        xall = np.load(m["data"])
        # the reference of both precisions: qkc's fp32 output (checked against ORT's in the ort part)
        refs = {}
        for B in spec["batches"]:
            _, y = qk.runner(m["qkc_fp32"], np.ascontiguousarray(xall[:B]), (B,) + tuple(m["out_shape"]), 1)
            refs[B] = y.copy()
            qk.close_all()
        srcs = {"fp32": m["onnx"]}
        if m.get("ort_int8_onnx") and spec.get("aot_int8"):
            srcs["int8"] = m["ort_int8_onnx"]
        for prec, src in srcs.items():
            for B in spec["batches"]:
                x = np.ascontiguousarray(xall[:B])
                path, gname = fixed_batch(dict(m, onnx=src), B, tmp, f"{m['name']}_{prec}")
                fq, yq = qk.runner(m["qkc_" + prec], x, (B,) + tuple(m["out_shape"]), 1)
                yq = yq.copy()
                fns = {"qkc": fq}
                row = {"model": m["name"], "prec": prec, "batch": B, "peer": peer,
                       "qkc_compile_s": m["qkc_compile_s"][prec], "qkc_bytes": os.path.getsize(m["qkc_" + prec]),
                       "qkc_sqnr": sqnr_db(refs[B], yq)}
                log(f"{m['name']} {prec} b{B}: {peer} compile")
                try:
                    if peer == "tvm":
                        so, secs, vm, dev = tvm_build(path, B, m["input"], x.shape[1:], tmp, f"{m['name']}_{prec}")
                        fr, y = tvm_runner(vm, dev, x)
                        nbytes = os.path.getsize(so)
                    else:
                        vmfb, secs = iree_build(path, tmp, f"{m['name']}_{prec}", B)
                        fr, y = iree_runner(vmfb, gname, x)
                        nbytes = os.path.getsize(vmfb)
                    row.update(compile_s=secs, bytes=nbytes, sqnr=sqnr_db(refs[B], y))
                    fns["peer"] = fr
                except Exception as e:
                    row["error"] = err_text(e)
                t = alternate(fns, rounds, block, min_calls=1)
                row["qkc_us"] = t["qkc"][0] * 1e6
                if "peer" in t:
                    row["peer_us"] = t["peer"][0] * 1e6
                res["aot"].append(row)
                qk.close_all()


def main():
    import json
    spec_path, out_path, part = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else "ort")
    with open(spec_path) as f:
        spec = json.load(f)
    res = {"python": sys.executable, "part": part, "versions": {}, "skipped": {}, "ort": [], "aot": [],
           "problems": [], "qkc_wrong": []}
    tmp = tempfile.mkdtemp(prefix=f"qkc-e2e-{part}-", dir=spec["work"])
    qk = Qkrt(build_qkrt_so(spec["build"], spec["work"]))
    if part == "ort":
        ort_part(spec, res, qk, tmp)
    else:
        aot_part(spec, res, qk, tmp, part)
    dump(res, out_path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except QkcFailure as e:
        print(f"e2e_peers: qkc FAILED: {e}", file=sys.stderr)
        sys.exit(1)
