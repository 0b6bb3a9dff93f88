#!/usr/bin/env python3
"""qkc int8 vs ONNX Runtime's quantize_static: accuracy, output SQNR and latency.

The claim this checks: on the bundled models, with the same calibration data
and method, qkc's int8 accuracy and output SQNR are at least those of ONNX
Runtime's quantize_static model run by ONNX Runtime, shown side by side.

    python3 bench/quant_vs_ort.py --build build      (or: make bench)

Needs the PyPI Python on PATH with `python3 -m pip install onnxruntime onnx
numpy` -- not Debian's /usr/bin/python3. Without onnxruntime it prints why it
is skipped and exits 0.

For models/mlp.onnx and models/cnn.onnx:

  ORT   quant_pre_process, then quantize_static (QDQ, CalibrationMethod.MinMax,
        reduce_range=False, weights QInt8) with a CalibrationDataReader over
        models/digits_calib_x.npy (batch 1, file order), in the configurations
        of CONFIGS; each run with onnxruntime (CPUExecutionProvider).
  qkc   `qkc compile --precision int8 --calib digits_calib_x.npy
        --calib-method minmax` with the matching --activations/--weights
        (bias correction on, qkc's default, and off), run with `qkc run`;
        and `qkc eval ... --json`, whose int8 row must agree with the numbers
        computed here from `qkc run` (else: reported, exit 1).

Every int8 output is scored on models/digits_test_x.npy/_y.npy against ORT's
fp32 logits of the same model (the common reference): accuracy, top-1
agreement with fp32, SQNR = 10*log10(sum fp32^2 / sum (q - fp32)^2) in dB and
max |q - fp32|.

Latency: each int8 model at batch 1 and batch 360, one thread on both sides,
ORT through InferenceSession.run and qkc through a ctypes wrapper around the
qkc runtime (libqkrt, linked into a temporary shared library from
BUILD/runtime/libqkrt.a); samples alternate between the two tools in rounds
and the medians are compared as qkc/ORT ratios measured in the same run.

Exit status: 0, also when a peer is missing (skipped); 1 when qkc fails (a
compile, run or eval error, or eval disagreeing with qkc run).
"""
import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(ROOT, "models")

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
except ImportError as e:  # the peer is missing: say so, do not fail
    print(f"quant_vs_ort: skipped: onnxruntime/onnx/numpy not installed ({e}): "
          f"{sys.executable} -m pip install onnxruntime onnx numpy")
    sys.exit(0)


class QkcFailure(Exception):
    pass


# (key, label, ORT activation type, ORT per_channel, ORT extra_options, qkc flags)
# ORT's QInt8 activations are asymmetric (a zero point) unless ActivationSymmetric;
# qkc's s8 activations are symmetric (zero point 0). Both are listed for s8.
CONFIGS = [
    ("u8_pc", "act u8, w s8 per-channel", QuantType.QUInt8, True, {},
     ["--activations", "u8", "--weights", "per-channel"]),
    ("u8_pt", "act u8, w s8 per-tensor", QuantType.QUInt8, False, {},
     ["--activations", "u8", "--weights", "per-tensor"]),
    ("s8_pc", "act s8, w s8 per-channel", QuantType.QInt8, True, {},
     ["--activations", "s8", "--weights", "per-channel"]),
    ("s8_pt", "act s8, w s8 per-tensor", QuantType.QInt8, False, {},
     ["--activations", "s8", "--weights", "per-tensor"]),
]
# Extra ORT rows: QInt8 activations made symmetric, qkc's own s8 scheme.
ORT_SYM = {"s8_pc": {"ActivationSymmetric": True}, "s8_pt": {"ActivationSymmetric": True}}


class DigitsCalib(CalibrationDataReader):
    """The calibration images at batch 1, in file order (as models/quantized/make_ort.py)."""

    def __init__(self, x):
        self.x = x
        self.i = 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        b = {"input": self.x[self.i:self.i + 1]}
        self.i += 1
        return b

    def rewind(self):
        self.i = 0


# ---------------------------------------------------------------- metrics

def sqnr_db(ref, q):
    ref = ref.astype(np.float64)
    err = float(((q.astype(np.float64) - ref) ** 2).sum())
    sig = float((ref ** 2).sum())
    return float("inf") if err == 0 else 10 * np.log10(sig / err)


def metrics(logits, ref, y):
    pred = logits.argmax(1)
    return {
        "accuracy": 100.0 * float((pred == y).mean()),
        "correct": int((pred == y).sum()),
        "agreement": 100.0 * float((pred == ref.argmax(1)).mean()),
        "sqnr_db": sqnr_db(ref, logits),
        "max_abs_err": float(np.abs(logits.astype(np.float64) - ref).max()),
    }


# ---------------------------------------------------------------- qkc

def qkc(build, args, what):
    cmd = [os.path.join(build, "qkc")] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise QkcFailure(f"{what}: cannot run {cmd[0]}: {e}")
    if p.returncode != 0:
        raise QkcFailure(f"{what} failed (exit {p.returncode}):\n  $ {' '.join(cmd)}\n"
                         + (p.stdout + p.stderr).strip())
    return p


def qkc_compile(build, model, out, flags, calib):
    args = ["compile", model, "-o", out]
    if flags is not None:
        args += ["--precision", "int8", "--calib", calib, "--calib-method", "minmax"] + flags
    t0 = time.perf_counter()
    p = qkc(build, args, f"qkc compile {os.path.basename(model)}")
    ms = 1e3 * (time.perf_counter() - t0)
    warnings = [l for l in p.stderr.splitlines() if "warning" in l]
    return ms, warnings


def qkc_run(build, so, x_path, outdir):
    qkc(build, ["run", so, "--input", x_path, "--output-dir", outdir], f"qkc run {os.path.basename(so)}")
    return np.load(os.path.join(outdir, "logits.npy"))


def qkc_eval(build, model, flags, data, tmp, tag):
    js = os.path.join(tmp, f"eval_{tag}.json")
    qkc(build, ["eval", model, "--data", data["x_path"], "--labels", data["y_path"],
                "--calib", data["calib_path"], "--calib-method", "minmax", "--json", js] + flags,
        f"qkc eval {os.path.basename(model)} {' '.join(flags)}")
    with open(js) as f:
        ev = json.load(f)
    rows = {v["precision"]: v for v in ev["variants"]}
    if "int8" not in rows:
        raise QkcFailure(f"qkc eval {tag}: no int8 row in {js}")
    return rows["int8"]


def check_eval(tag, ev, mine, size):
    """eval's int8 row against the numbers from `qkc run` (vs qkc's own fp32, as eval does)."""
    bad = []
    if abs(ev["accuracy"] - mine["accuracy"]) > 1e-3:
        bad.append(f"accuracy eval {ev['accuracy']:.4f}% vs run {mine['accuracy']:.4f}%")
    if abs(ev["agreement"] - mine["agreement"]) > 1e-3:
        bad.append(f"agreement eval {ev['agreement']:.4f}% vs run {mine['agreement']:.4f}%")
    es = float("inf") if ev["sqnr_db"] >= 999 else ev["sqnr_db"]
    if not (es == mine["sqnr_db"] or abs(es - mine["sqnr_db"]) <= 0.002):
        bad.append(f"SQNR eval {es:.3f} dB vs run {mine['sqnr_db']:.3f} dB")
    if abs(ev["max_abs_err"] - mine["max_abs_err"]) > 1e-5 * max(1.0, mine["max_abs_err"]):
        bad.append(f"max|err| eval {ev['max_abs_err']:.6g} vs run {mine['max_abs_err']:.6g}")
    if ev["bytes"] != size:
        bad.append(f"size eval {ev['bytes']} B vs qkc compile {size} B")
    return [f"{tag}: {b}" for b in bad]


# ---------------------------------------------------------------- latency

class Qkrt:
    """A tiny ctypes wrapper over the qkc runtime (include/qkc/qkrt.h)."""

    def __init__(self, lib_path):
        L = ctypes.CDLL(lib_path)
        vp, i64, sz = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
        L.qkrt_error_message.restype = ctypes.c_char_p
        L.qkrt_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        L.qkrt_context_create.argtypes = [vp, ctypes.POINTER(vp)]
        L.qkrt_context_set_threads.argtypes = [vp, ctypes.c_int]
        L.qkrt_context_reserve.argtypes = [vp, i64]
        L.qkrt_context_free.argtypes = [vp]
        L.qkrt_model_free.argtypes = [vp]
        L.qkrt_run.argtypes = [vp, i64, ctypes.POINTER(vp), ctypes.POINTER(sz), ctypes.POINTER(vp),
                               ctypes.POINTER(sz)]
        self.L = L

    def check(self, st, what):
        if st != 0:
            raise QkcFailure(f"{what}: status {st}: {self.L.qkrt_error_message().decode()}")

    def open(self, so, max_batch):
        m, c = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.L.qkrt_model_load(so.encode(), ctypes.byref(m)), f"qkrt_model_load {so}")
        self.check(self.L.qkrt_context_create(m, ctypes.byref(c)), "qkrt_context_create")
        self.check(self.L.qkrt_context_set_threads(c, 1), "qkrt_context_set_threads")
        self.check(self.L.qkrt_context_reserve(c, max_batch), "qkrt_context_reserve")
        return m, c

    def close(self, m, c):
        self.L.qkrt_context_free(c)
        self.L.qkrt_model_free(m)

    def runner(self, c, x, out):
        """A no-argument callable running one batch (argument arrays made once)."""
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        ins = (vp * 1)(x.ctypes.data)
        inb = (sz * 1)(x.nbytes)
        outs = (vp * 1)(out.ctypes.data)
        outb = (sz * 1)(out.nbytes)
        run, batch, L = self.L.qkrt_run, ctypes.c_int64(x.shape[0]), self

        def f():
            st = run(c, batch, ins, inb, outs, outb)
            if st != 0:
                L.check(st, "qkrt_run")
        return f


def build_qkrt_so(build, tmp):
    """libqkrt as a shared library for ctypes: the build's own if any, else libqkrt.a
    (position-independent) linked whole into one. Returns (path, how) or (None, why)."""
    found = []
    for d, _, files in os.walk(build):
        for f in files:
            if f in ("libqkrt.so", "libqkrt.a") and "asan" not in d:
                found.append(os.path.join(d, f))
    so = [p for p in found if p.endswith(".so")]
    if so:
        return so[0], so[0]
    a = [p for p in found if p.endswith(".a")]
    if not a:
        return None, f"no libqkrt.a/.so under {build}"
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None, "no C compiler to link libqkrt.a into a shared library"
    out = os.path.join(tmp, "libqkrt.so")
    p = subprocess.run([cc, "-shared", "-o", out, "-Wl,--whole-archive", a[0], "-Wl,--no-whole-archive",
                        "-ldl", "-lpthread"], capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"linking {a[0]} into a shared library failed: {p.stderr.strip()}"
    return out, f"{a[0]} linked into a temporary shared library"


def alternate(fa, fb, reps, rounds):
    """Time fa and fb (seconds per call), alternating in rounds of reps calls each."""
    ta, tb = [], []
    fa(), fb(), fa(), fb()  # warm up
    pc = time.perf_counter_ns
    for _ in range(rounds):
        for f, t in ((fa, ta), (fb, tb)):
            for _ in range(reps):
                t0 = pc()
                f()
                t.append(pc() - t0)
    return np.median(ta) * 1e-9, np.median(tb) * 1e-9, len(ta)


def qkc_run_repeat_time(build, so, x_path, tmp, n):
    """Fallback without ctypes: (time of --repeat N  -  time of --repeat 1) / (N - 1),
    N doubled from n until the difference is >= 0.25 s (process start-up jitter is
    milliseconds), then the median of 5 such differences: a mean per run."""
    def t(k):
        t0 = time.perf_counter()
        qkc(build, ["run", so, "--input", x_path, "--output-dir", os.path.join(tmp, "rep"),
                    "--threads", "1", "--repeat", str(k)], "qkc run --repeat")
        return time.perf_counter() - t0
    while t(n) - t(1) < 0.25 and n < 10_000_000:
        n *= 2
    d = [(t(n) - t(1)) / (n - 1) for _ in range(5)]
    return float(np.median(d)), n


# ---------------------------------------------------------------- report

def fmt_sqnr(s):
    return "inf" if s == float("inf") else f"{s:.2f}"


def print_table(name, rows):
    hdr = f"  {'tool':<5} {'configuration':<46} {'accuracy':>13} {'agree':>8} {'SQNR dB':>8} " \
          f"{'max|err|':>9} {'KB':>6} {'compile s':>9}"
    print(hdr)
    print("  " + "-" * (len(hdr) - 2))
    for r in rows:
        m = r["m"]
        kb = f"{r['bytes'] / 1024:.1f}" if r.get("bytes") else "-"
        cs = f"{r['compile_ms'] / 1e3:.2f}" if r.get("compile_ms") else "-"
        acc = f"{m['accuracy']:.2f}% ({m['correct']})"
        print(f"  {r['tool']:<5} {r['label']:<46} {acc:>13} {m['agreement']:>7.2f}% "
              f"{fmt_sqnr(m['sqnr_db']):>8} {m['max_abs_err']:>9.4f} {kb:>6} {cs:>9}")


def verdict(q, o):
    """qkc row q vs ORT row o: 'qkc >= ORT' or what is worse, by how much."""
    qa, oa = q["m"]["accuracy"], o["m"]["accuracy"]
    qs, os_ = q["m"]["sqnr_db"], o["m"]["sqnr_db"]
    worse = []
    if qa < oa:
        worse.append(f"accuracy {qa - oa:+.2f} pp ({q['m']['correct'] - o['m']['correct']:+d} images)")
    if qs < os_:
        worse.append(f"SQNR {qs - os_:+.2f} dB")
    facts = f"(accuracy {qa:.2f}% vs {oa:.2f}%, SQNR {fmt_sqnr(qs)} vs {fmt_sqnr(os_)} dB)"
    if not worse:
        return True, f"qkc >= ORT {facts}"
    return False, f"qkc WORSE: {', '.join(worse)} {facts}"


def cpu_info():
    model, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


# ---------------------------------------------------------------- main

def bench_model(name, args, data, tmp, qkrt, problems):
    build = args.build
    src = os.path.join(MODELS, name + ".onnx")
    x, y, xc = data["x"], data["y"], data["calib"]
    d = os.path.join(tmp, name)
    os.makedirs(d)

    # ---- ORT fp32: the reference of every score
    so_acc = ort.SessionOptions()
    so_acc.log_severity_level = 3
    s32 = ort.InferenceSession(src, so_acc, providers=["CPUExecutionProvider"])
    ref = s32.run(["logits"], {"input": x})[0].astype(np.float64)
    rows = [{"tool": "ORT", "key": "fp32", "label": "fp32 (the reference)", "m": metrics(ref, ref, y)}]

    # ---- qkc fp32
    q32 = os.path.join(d, "qkc_fp32.so")
    ms, _ = qkc_compile(build, src, q32, None, None)
    qref = qkc_run(build, q32, data["x_path"], os.path.join(d, "o_fp32")).astype(np.float64)
    rows.append({"tool": "qkc", "key": "fp32", "label": "fp32", "m": metrics(qref, ref, y),
                 "bytes": os.path.getsize(q32), "compile_ms": ms})

    # ---- ORT int8
    pre = os.path.join(d, "pre.onnx")
    quant_pre_process(src, pre)
    ort_rows, ort_models = {}, {}
    for key, label, at, pc, extra, _ in CONFIGS:
        variants = [(key, label + (" (asym, zp!=0)" if at == QuantType.QInt8 else ""), extra)]
        if key in ORT_SYM:
            variants.append((key + "_sym", label.replace("act s8", "act s8 sym"), ORT_SYM[key]))
        for k, lab, ex in variants:
            out = os.path.join(d, f"ort_{k}.onnx")
            t0 = time.perf_counter()
            quantize_static(pre, out, DigitsCalib(xc), quant_format=QuantFormat.QDQ, per_channel=pc,
                            reduce_range=False, activation_type=at, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, extra_options=dict(ex))
            ms = 1e3 * (time.perf_counter() - t0)
            sess = ort.InferenceSession(out, so_acc, providers=["CPUExecutionProvider"])
            lg = sess.run(["logits"], {"input": x})[0]
            ort_rows[k] = {"tool": "ORT", "key": k, "label": lab, "m": metrics(lg, ref, y),
                           "bytes": os.path.getsize(out), "compile_ms": ms}
            ort_models[k] = out

    # ---- qkc int8: compile + run, and eval (checked against run)
    qkc_rows, qkc_sos = {}, {}
    for key, label, _, _, _, flags in CONFIGS:
        lab = label.replace("act s8", "act s8 sym")
        for bc in (True, False):
            k = key if bc else key + "_nobc"
            fl = flags + ([] if bc else ["--no-bias-correction"])
            so = os.path.join(d, f"qkc_{k}.so")
            ms, warns = qkc_compile(build, src, so, fl, data["calib_path"])
            lg = qkc_run(build, so, data["x_path"], os.path.join(d, "o_" + k))
            r = {"tool": "qkc", "key": k, "label": lab + ("" if bc else ", no bias corr."),
                 "m": metrics(lg, ref, y), "bytes": os.path.getsize(so), "compile_ms": ms,
                 "warnings": warns}
            ev = qkc_eval(build, src, fl, data, d, k)
            r["eval"] = ev
            mism = check_eval(f"{name} {k}", ev, metrics(lg, qref, y), r["bytes"])
            if mism:
                problems.extend(["qkc eval disagrees with qkc run: " + s for s in mism])
            qkc_rows[k] = r
            qkc_sos[k] = so

    # ---- table
    print(f"\n== {name}.onnx: {len(x)} test images; SQNR, agreement and max|err| against ORT's fp32 "
          f"logits; KB = file size (ORT: .onnx, qkc: .so); compile s = quantize_static / qkc compile")
    order = rows[:]
    for key, *_ in CONFIGS:
        order.append(ort_rows[key])
        if key + "_sym" in ort_rows:
            order.append(ort_rows[key + "_sym"])
        order.append(qkc_rows[key])
        order.append(qkc_rows[key + "_nobc"])
    print_table(name, order)
    print(f"  qkc fp32 vs ORT fp32: max|diff| {rows[1]['m']['max_abs_err']:.3g}")
    nbad = sum(1 for p in problems if p.startswith(f"qkc eval disagrees with qkc run: {name} "))
    print(f"  qkc eval --json vs the same numbers from qkc compile + qkc run (against qkc's own fp32, "
          f"as eval measures): {'all ' + str(len(qkc_rows)) + ' configurations agree' if not nbad else str(nbad) + ' DISAGREEMENTS (listed at the end)'}")
    for k, r in qkc_rows.items():
        e = r["eval"]
        print(f"    eval {k:<10} accuracy {e['accuracy']:.2f}%, agree {e['agreement']:.2f}%, "
              f"SQNR {e['sqnr_db']:.2f} dB, max|err| {e['max_abs_err']:.4f}, "
              f"{e['bytes'] / 1024:.1f} KB, compile {e['compile_ms']:.0f} ms")
    warned = sorted({w for r in qkc_rows.values() for w in r["warnings"]})
    for w in warned:
        print(f"  qkc compile warned: {w.strip()}")
        if "clipped" in w:
            print("    (note: with minmax no calibration value is outside the range; the values counted as "
                  "clipped sit exactly on its edge, e.g. pixels of 1.0 with scale f32(1/127): a false "
                  "positive of qkc's estimate)")

    print(f"\n  verdicts ({name}): qkc (bias correction on: qkc's default) and qkc with "
          f"--no-bias-correction (ORT has none), vs ORT of the same configuration")
    allok = True
    for key, label, *_ in CONFIGS:
        pairs = [(key, key)]
        if key + "_sym" in ort_rows:
            pairs.append((key, key + "_sym"))
        for qk, ok_ in pairs:
            for suffix, what in (("", "qkc"), ("_nobc", "qkc no-bc")):
                good, text = verdict(qkc_rows[qk + suffix], ort_rows[ok_])
                allok &= good or suffix == "_nobc"
                print(f"  {what:<9} {qkc_rows[qk + suffix]['label'].split(',')[0]:<11} vs ORT "
                      f"{ort_rows[ok_]['label']:<40}: {text}")

    # ---- latency, one thread each
    print(f"\n  latency ({name}, int8, 1 thread each; medians; ratio = qkc / ORT, < 1: qkc faster)")
    so_lat = ort.SessionOptions()
    so_lat.intra_op_num_threads = 1
    so_lat.inter_op_num_threads = 1
    so_lat.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so_lat.log_severity_level = 3
    x1 = np.ascontiguousarray(x[:1])
    out1 = np.empty((1, 10), np.float32)
    out360 = np.empty((len(x), 10), np.float32)
    print(f"  {'configuration':<28} {'batch':>5} {'ORT us':>10} {'qkc us':>10} {'qkc/ORT':>8} {'samples':>8}"
          + ("" if qkrt is not None else " (ORT samples / qkc --repeat N)"))
    lat = {}
    for key, label, *_ in CONFIGS:
        sess = ort.InferenceSession(ort_models[key], so_lat, providers=["CPUExecutionProvider"])
        for batch, xb, ob, reps, rounds in ((1, x1, out1, args.reps_b1 // 5, 5),
                                            (len(x), x, out360, max(4, args.reps_b360 // 5), 5)):
            def fo(xb=xb):
                sess.run(["logits"], {"input": xb})
            if qkrt is not None:
                m, c = qkrt.open(qkc_sos[key], len(x))
                fq = qkrt.runner(c, xb, ob)
                fq()
                want = np.load(os.path.join(d, "o_" + key, "logits.npy"))[:batch]
                if not np.array_equal(ob, want):
                    problems.append(f"{name} {key}: ctypes qkrt_run output differs from qkc run's")
                to, tq, n = alternate(fo, fq, reps, rounds)
                qkrt.close(m, c)
            else:
                fo()
                to = float(np.median([_timeit(fo) for _ in range(reps * rounds)]))
                path = data["x1_path"] if batch == 1 else data["x_path"]
                tq, nrep = qkc_run_repeat_time(build, qkc_sos[key], path, d, 1000 if batch == 1 else 20)
                n = f"{reps * rounds}/{nrep}"
            lat[(key, batch)] = (to, tq)
            print(f"  {label:<28} {batch:>5} {to * 1e6:>10.1f} {tq * 1e6:>10.1f} {tq / to:>8.2f} {n:>8}")
    return allok


def _timeit(f):
    t0 = time.perf_counter_ns()
    f()
    return (time.perf_counter_ns() - t0) * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="qkc build directory")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--reps-b1", type=int, default=250, help="batch-1 samples per tool (>= 20)")
    ap.add_argument("--reps-b360", type=int, default=30, help="batch-360 samples per tool (>= 20)")
    ap.add_argument("--latency-method", choices=["ctypes", "repeat"], default="ctypes",
                    help="qkc timing: ctypes over libqkrt (default), or `qkc run --repeat` differences")
    ap.add_argument("--keep", metavar="DIR", help="keep the models and artifacts in DIR")
    args = ap.parse_args()
    args.reps_b1 = max(args.reps_b1, 20)
    args.reps_b360 = max(args.reps_b360, 20)
    build = args.build = os.path.abspath(args.build)
    if not os.access(os.path.join(build, "qkc"), os.X_OK):
        print(f"quant_vs_ort: {build}/qkc not found: run `make build` first")
        return 1
    t_start = time.perf_counter()

    model, flags = cpu_info()
    want = ["avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8"]
    have = " ".join(f"{f}:{'yes' if f in flags else 'no'}" for f in want)
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags
    qv = subprocess.run([os.path.join(build, "qkc"), "--version"], capture_output=True, text=True).stdout.strip()
    print(f"quant_vs_ort: {qv}; onnxruntime {ort.__version__}, onnx {onnx.__version__}, "
          f"numpy {np.__version__}, python {sys.version.split()[0]} ({sys.executable})")
    print(f"CPU: {model}; {os.cpu_count()} logical CPUs")
    print(f"CPU flags: {have}")
    if vnni:
        print("  VNNI present: ORT's u8 x s8 int8 kernels use VPDPBUSD (exact int32 sums), so its int8 "
              "results here are not hurt by VPMADDUBSW's int16 saturation (reduce_range=False is safe).")
    else:
        print("  NO VNNI: ORT's u8 x s8 kernels use VPMADDUBSW, whose int16 pair sums can saturate with "
              "reduce_range=False; ORT's int8 accuracy below may be lower than on a VNNI CPU.")

    data = {
        "x_path": os.path.join(MODELS, "digits_test_x.npy"),
        "y_path": os.path.join(MODELS, "digits_test_y.npy"),
        "calib_path": os.path.join(MODELS, "digits_calib_x.npy"),
    }
    data["x"] = np.load(data["x_path"])
    data["y"] = np.load(data["y_path"])
    data["calib"] = np.load(data["calib_path"])

    tmp = args.keep or tempfile.mkdtemp(prefix="qkc-bench-")
    os.makedirs(tmp, exist_ok=True)
    data["x1_path"] = os.path.join(tmp, "x1.npy")
    np.save(data["x1_path"], data["x"][:1])
    problems = []
    try:
        if args.latency_method == "ctypes":
            lib, how = build_qkrt_so(build, tmp)
        else:
            lib, how = None, "--latency-method repeat"
        if lib:
            qkrt = Qkrt(lib)
            print(f"qkc latency: ctypes over libqkrt ({how}); ORT latency: InferenceSession.run. "
                  f"Both called from this Python process, alternating in 5 rounds.")
        else:
            qkrt = None
            print(f"qkc latency: no ctypes wrapper ({how}); using (time of `qkc run --repeat N` - "
                  f"time of --repeat 1)/(N-1), a mean per run, median of 5; ORT: InferenceSession.run")
        allok = True
        for name in [m for m in args.models.split(",") if m]:
            allok &= bench_model(name, args, data, tmp, qkrt, problems)
    except QkcFailure as e:
        print(f"\nquant_vs_ort: qkc FAILED: {e}")
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    if problems:
        print("quant_vs_ort: qkc PROBLEMS:")
        for p in problems:
            print("  " + p)
    print(f"quant_vs_ort: {'qkc >= ORT on accuracy and SQNR in every configuration (qkc defaults)' if allok else 'qkc is WORSE than ORT somewhere (see the verdicts)'}; "
          f"{time.perf_counter() - t_start:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
