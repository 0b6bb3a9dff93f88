#!/usr/bin/env python3
"""zoo.py -- the model zoo of issue 9 ("Real models compile"): real
architectures with random weights (bench/zoo/build_models.py), each compiled
by qkc at fp32, fp16, bf16 and int8 and checked against ONNX Runtime.

For each model:
  1. qkc compile at fp32 of every opset copy (13, 17 and, for a few, 18):
     compiles or not, with the unsupported ops qkc names; compile time and
     the compiler's peak resident memory (wait4's rusage of the child);
  2. `qkc run` on the test batch (8 samples): max|qkc - ORT| / max|ORT|
     against ONNX Runtime's fp32 output (target <= 1e-4);
  3. opset 17 at --precision fp16 (the same error measure), at
     --precision bf16 (top-1 agreement and SQNR against ORT fp32) and at
     --precision int8 with the calibration samples (--calib DIR for a
     one-input model, --calib NAME=FILE per input otherwise): top-1
     agreement (over the last axis) with ORT fp32 and SQNR against it;
  4. ONNX Runtime's int8 of the same model: quant_pre_process, then
     quantize_static (QDQ, MinMax, per-channel QInt8 weights, QUInt8
     activations, reduce_range off) on the same calibration samples: the
     same agreement and SQNR;
  5. unless --quick: latency at batch 1 and 8 on one thread of qkc fp32 and
     int8 (ctypes over libqkrt, bench/benchlib.py) and ORT fp32 and int8,
     timed alternately (medians).

A model that fails to export, compile or run is a row that says why. The
transformers' sequence dim is symbolic ("seq"): qkc gets --dim seq=128 (when
`qkc compile --help` lists --dim). Prints the tables and writes them, with
the CPU, the date and the command, to bench/ZOO.md (--report); the raw
numbers go to WORK/zoo-results.json.

Two Pythons: the models are built by Debian's torch (build_models.py, which
keeps bench/zoo/.venv with transformers); this script needs onnxruntime, a
PyPI onnx (>= 1.13, for the opset-18 copies) and numpy. When the Python
running it lacks them, it makes bench/zoo/.venv-ort (pip install
onnxruntime onnx numpy) and runs itself there.

    python3 bench/zoo/zoo.py [--build BUILD] [--work DIR] [--models a,b] [--heldout] [--quick]
                             [--timeout S] [--calib-samples N] [--report FILE | --no-report]"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORT_VENV = os.path.join(HERE, ".venv-ort")
ORT_VENV_PY = os.path.join(ORT_VENV, "bin", "python")
DEBIAN_PY = "/usr/bin/python3"
FP32_TARGET = 1e-4
TEST_BATCH = 8  # the samples of the test inputs (build_models.py); latency at batch 1 and this


def log(msg):
    print("[zoo %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ---- the Python with onnxruntime ----------------------------------------------------------------
# (sympy too, for onnxruntime's quant_pre_process; without it the zoo quantizes the model as
# exported and says so)

def ort_python_missing():
    """Why this Python cannot run the zoo (None when it can)."""
    try:
        import numpy  # noqa: F401
        import onnx
        import onnxruntime  # noqa: F401
        from onnxruntime.quantization import quantize_static  # noqa: F401
    except Exception as e:  # an ImportError, or a numpy/protobuf mismatch inside them
        return "%s: %s" % (type(e).__name__, e)
    v = tuple(int(x) for x in re.findall(r"\d+", onnx.__version__)[:2])
    if v < (1, 13):
        return "onnx %s has no opset-18 version converter (needs >= 1.13)" % onnx.__version__
    return None


def bootstrap():
    why = ort_python_missing()
    if not why:
        return
    if os.path.realpath(sys.prefix) == os.path.realpath(ORT_VENV) or os.environ.get("ZOO_REEXEC"):
        sys.exit("zoo: %s cannot run the zoo: %s" % (sys.executable, why))
    log("%s lacks what the zoo needs (%s): using %s" % (sys.executable, why, ORT_VENV))
    if not os.path.exists(ORT_VENV_PY):
        p = subprocess.run([sys.executable, "-m", "venv", ORT_VENV], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("zoo: cannot create %s: %s\n(on Debian: apt-get install python3-venv)" % (
                ORT_VENV, (p.stderr or p.stdout).strip()[-500:]))
    if subprocess.run([ORT_VENV_PY, "-c", "import onnxruntime.quantization, onnx, numpy"],
                      capture_output=True).returncode != 0:
        log("installing onnxruntime, onnx, numpy and sympy from PyPI into %s" % ORT_VENV)
        try:
            p = subprocess.run([ORT_VENV_PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "--retries", "1", "--timeout", "30", "onnxruntime", "onnx", "numpy", "sympy"],
                               capture_output=True, text=True, timeout=1200)
            bad = p.returncode != 0
            msg = " ".join((p.stderr or p.stdout).strip().splitlines()[-3:])[-500:]
        except subprocess.TimeoutExpired:
            bad, msg = True, "pip did not finish in 20 minutes"
        if bad:
            sys.exit("zoo: could not install onnxruntime, onnx and numpy from PyPI into %s (is PyPI reachable?): "
                     "%s\nOr run zoo.py with a Python that has them (python -m pip install onnxruntime onnx numpy)."
                     % (ORT_VENV, msg))
    os.environ["ZOO_REEXEC"] = "1"
    os.execv(ORT_VENV_PY, [ORT_VENV_PY, os.path.abspath(sys.argv[0])] + sys.argv[1:])  # zoo.py or dynamic.py


# ---- running qkc ------------------------------------------------------------------------------------

# Runs a command and reports its exit status and peak RSS on the last line of stderr.
# The command is started from this small process, not from zoo.py: a child's
# ru_maxrss starts from its parent's high-water mark at fork (Linux keeps the
# larger), and zoo.py holds ONNX Runtime sessions of hundreds of MiB.
MEASURE = r"""
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:])
_, status, ru = os.wait4(p.pid, 0)
sys.stderr.write("\nZOO_CHILD %d %d\n" % (os.waitstatus_to_exitcode(status), ru.ru_maxrss))
"""
MARK = re.compile(r"\n?ZOO_CHILD (-?\d+) (\d+)\n?$")


def run_measured(cmd, timeout, env=None):
    """Run cmd with a timeout; (seconds, peak RSS MiB of the command, exit status or None if
    it timed out, stdout, stderr)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", MEASURE] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, errors="replace", env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.communicate()
        return time.perf_counter() - t0, 0.0, None, "", ""
    secs = time.perf_counter() - t0
    m = MARK.search(err)
    if not m:  # the helper itself failed
        return secs, 0.0, p.returncode or 1, out, err
    return secs, int(m.group(2)) / 1024.0, int(m.group(1)), out, err[:m.start()]


NODE_UNSUPPORTED = r"node '[^']*' \(([A-Za-z][\w.]*)\): [^\n]*(?:not implemented|not supported|no kernel)"


def parse_unsupported(text):
    """The op types of qkc's 'error: unsupported op(s): A (node 'x', ...), B (...)',
    or of its "node 'x' (Op): ... not implemented / no kernel yet" lines."""
    m = re.search(r"unsupported ops?: (.*)", text)
    if not m:
        ops = []
        for op in re.findall(NODE_UNSUPPORTED, text):
            if op not in ops:
                ops.append(op)
        return ops
    s = re.sub(r"'[^']*'", "''", m.group(1))  # node names may hold anything
    while True:
        t = re.sub(r"\([^()]*\)", "", s)
        if t == s:
            break
        s = t
    return [o.strip() for o in s.split(",") if re.fullmatch(r"[A-Za-z][\w.]*", o.strip())]


def first_error(text, limit=300):
    """qkc's first diagnostic line (the one with 'error'), shortened."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln:
            ln = re.sub(r"^\S+\.onnx: ", "", ln)
            return ln[:limit] + ("..." if len(ln) > limit else "")
    return (lines[0][:limit] if lines else "no message")


def fixed_dims_copy(model, dims):
    """A copy of `model` whose symbolic dims named in `dims` are fixed (for a qkc
    without --dim)."""
    import onnx
    dst = model[:-len(".onnx")] + ".fixed-%s.onnx" % "-".join("%s%d" % kv for kv in sorted(dims.items()))
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(model):
        return dst
    m = onnx.load(model)
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param") and d.dim_param in dims:
                d.dim_value = dims[d.dim_param]
    onnx.save(m, dst)
    return dst


class Qkc:
    def __init__(self, binary, timeout):
        self.bin, self.timeout = binary, timeout
        h = subprocess.run([binary, "compile", "--help"], capture_output=True, text=True)
        self.has_dim = "--dim" in h.stdout + h.stderr

    def compile(self, model, so, opts, dims):
        """-> dict: ok, secs, peak_mib, why (on failure), unsupported (op list). Symbolic
        dims other than the batch are fixed with --dim, or, by a qkc without --dim, in a
        copy of the model."""
        if os.path.exists(so):
            os.remove(so)
        dimf = []
        if dims and self.has_dim:
            dimf = [a for k, v in sorted(dims.items()) for a in ("--dim", "%s=%d" % (k, v))]
        elif dims:
            model = fixed_dims_copy(model, dims)
        cmd = [self.bin, "compile", model, "-o", so] + dimf + list(opts)
        secs, peak, rc, out, err = run_measured(cmd, self.timeout)
        r = {"secs": round(secs, 2), "peak_mib": round(peak, 1), "cmd": " ".join(shlex.quote(c) for c in cmd)}
        if rc == 0 and os.path.exists(so):
            r["ok"] = True
            notes = [ln for ln in err.splitlines() if "note:" in ln or "warning:" in ln]
            if notes:
                r["notes"] = [n[:300] for n in notes[:5]]
            return r
        r["ok"] = False
        r["unsupported"] = parse_unsupported(err)
        if rc is None:
            r["why"] = "timed out after %d s" % self.timeout
        elif r["unsupported"]:
            r["why"] = "unsupported: " + ", ".join(r["unsupported"])
        elif rc < 0:
            r["why"] = "qkc crashed (signal %d): %s" % (-rc, first_error(err))
        else:
            r["why"] = first_error(err)
        r["stderr"] = err[-4000:]
        return r

    def run(self, so, feeds, out_names, outdir, chunk=None):
        """`qkc run` on the input files; {output name: array} or raises RuntimeError. With
        chunk, the inputs are run `chunk` samples at a time (an artifact of that fixed batch)."""
        import numpy as np
        if chunk:
            arrays = {n: np.load(f) for n, f in feeds.items()}
            total = len(next(iter(arrays.values())))
            parts = []
            for j in range(0, total, chunk):
                d = "%s.part%d" % (outdir, j // chunk)
                os.makedirs(d, exist_ok=True)
                fj = {}
                for n, a in arrays.items():
                    fj[n] = os.path.join(d, "in.%s.npy" % n)
                    np.save(fj[n], a[j:j + chunk])
                parts.append(self.run(so, fj, out_names, os.path.join(d, "out")))
            return {n: np.concatenate([p[n] for p in parts]) for n in out_names}
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(os.path.dirname(outdir), exist_ok=True)
        cmd = [self.bin, "run", so] + [a for n, f in feeds.items() for a in ("--input", "%s=%s" % (n, f))] + [
            "--output-dir", outdir]
        secs, _, rc, out, err = run_measured(cmd, self.timeout)
        if rc != 0:
            raise RuntimeError("qkc run %s" % ("timed out after %d s" % self.timeout if rc is None else
                                               "failed (%s): %s" % (("signal %d" % -rc) if rc < 0 else
                                                                     "exit %d" % rc, first_error(err + out))))
        res = {}
        for n in out_names:
            f = os.path.join(outdir, n + ".npy")
            if not os.path.exists(f):
                raise RuntimeError("qkc run wrote no %s.npy" % n)
            res[n] = np.load(f)
        return res


# ---- the qkc runtime through ctypes (latency) --------------------------------------------------------

class QkRunner:
    """One artifact, one context (1 thread), inputs bound by name; call it to run."""

    def __init__(self, qk, so, feeds, out_shapes):
        import ctypes
        import numpy as np
        L = qk.L
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        L.qkrt_model_find_input.argtypes = L.qkrt_model_find_output.argtypes = [vp, ctypes.c_char_p]
        L.qkrt_model_num_inputs.argtypes = L.qkrt_model_num_outputs.argtypes = [vp]
        L.qkrt_model_input.argtypes = L.qkrt_model_output.argtypes = [vp, ctypes.c_int]
        L.qkrt_model_input.restype = L.qkrt_model_output.restype = vp
        L.qkrt_tensor_bytes.argtypes, L.qkrt_tensor_bytes.restype = [vp, ctypes.c_int64], sz
        m, c = vp(), vp()
        qk.check(L.qkrt_model_load(so.encode(), ctypes.byref(m)), "qkrt_model_load %s" % so)
        qk.check(L.qkrt_context_create(m, ctypes.byref(c)), "qkrt_context_create")
        qk.open_.append((m, c))
        qk.check(L.qkrt_context_set_threads(c, 1), "qkrt_context_set_threads")
        batch = next(iter(feeds.values())).shape[0]
        qk.check(L.qkrt_context_reserve(c, batch), "qkrt_context_reserve")
        ins = [None] * L.qkrt_model_num_inputs(m)
        for name, a in feeds.items():
            i = L.qkrt_model_find_input(m, name.encode())
            if i < 0:
                raise RuntimeError("the artifact has no input %s" % name)
            ins[i] = np.ascontiguousarray(a)
        if any(a is None for a in ins):
            raise RuntimeError("the artifact has inputs the model file does not list")
        outs = [None] * L.qkrt_model_num_outputs(m)
        for name, shape in out_shapes.items():
            i = L.qkrt_model_find_output(m, name.encode())
            if i < 0:
                raise RuntimeError("the artifact has no output %s" % name)
            outs[i] = np.empty(shape, np.float32)
            want = L.qkrt_tensor_bytes(L.qkrt_model_output(m, i), batch)
            if want != outs[i].nbytes:
                raise RuntimeError("output %s: the artifact's is %d bytes, ORT's %d" % (name, want, outs[i].nbytes))
        outs = [o if o is not None else np.empty(L.qkrt_tensor_bytes(L.qkrt_model_output(m, j), batch), np.uint8)
                for j, o in enumerate(outs)]
        self.keep = (ins, outs)
        self.inp = (vp * len(ins))(*[a.ctypes.data for a in ins])
        self.inb = (sz * len(ins))(*[a.nbytes for a in ins])
        self.outp = (vp * len(outs))(*[a.ctypes.data for a in outs])
        self.outb = (sz * len(outs))(*[a.nbytes for a in outs])
        self.c, self.batch, self.qk, self.runf = c, ctypes.c_int64(batch), qk, L.qkrt_run
        self()

    def __call__(self):
        st = self.runf(self.c, self.batch, self.inp, self.inb, self.outp, self.outb)
        if st != 0:
            self.qk.check(st, "qkrt_run")


# ---- ONNX Runtime ----------------------------------------------------------------------------------

def ort_session(path, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_quantize(src, dst, calib):
    """quantize_static (QDQ, MinMax, per-channel) of src into dst, calibrated on
    calib ({input name: array}, one sample at a time); quant_pre_process first when it works."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    n = len(next(iter(calib.values())))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= n:
                return None
            self.i += 1
            return {k: v[self.i - 1:self.i] for k, v in calib.items()}

        def rewind(self):
            self.i = 0

    model, note = src, ""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process
        pre = dst.replace(".onnx", "_pre.onnx")
        quant_pre_process(src, pre)
        model = pre
    except Exception as e:
        note = "quant_pre_process failed (%s); quantized the model as exported" % str(e).strip().splitlines()[-1][:120]
    import logging
    logging.disable(logging.WARNING)  # the quantizer's per-tensor warnings (LayerNorm weights' axis ...)
    try:
        quantize_static(model, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=False,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    finally:
        logging.disable(logging.NOTSET)
    return note


# ---- metrics ---------------------------------------------------------------------------------------

def rel_err(outs, refs):
    import numpy as np
    worst = 0.0
    for k, r in refs.items():
        o = outs[k]
        if o.shape != r.shape:
            return float("inf")
        d = np.abs(o.astype(np.float64) - r.astype(np.float64))
        if np.isnan(d).any():
            return float("nan")
        worst = max(worst, float(d.max() / max(float(np.abs(r).max()), 1e-30)))
    return worst


def agree_sqnr(outs, refs):
    """(top-1 agreement over the last axis, SQNR dB) of the first output."""
    import numpy as np
    k = next(iter(refs))
    o, r = outs[k].astype(np.float64), refs[k].astype(np.float64)
    if o.shape != r.shape:
        return float("nan"), float("nan")
    agree = float(np.mean(o.argmax(-1) == r.argmax(-1)))
    noise = float(np.sum((o - r) ** 2))
    sqnr = float("inf") if noise == 0 else 10 * np.log10(float(np.sum(r ** 2)) / noise)
    return agree, sqnr


def time_all(fns):
    """Median seconds per call of each callable, alternating (bench/benchlib.alternate);
    few rounds for slow models."""
    from benchlib import alternate
    t0 = time.perf_counter()
    for f in fns.values():
        f()
    per = (time.perf_counter() - t0) / max(1, len(fns))
    if per > 0.25:
        res = alternate(fns, rounds=3, block_s=0.0, min_calls=1)
    else:
        res = alternate(fns, rounds=5, block_s=0.1, min_calls=3)
    return {k: v[0] for k, v in res.items()}


# ---- one model ------------------------------------------------------------------------------------

def zoo_model(e, mdir, work, qkc, qk, quick):
    import numpy as np
    name = e["name"]
    row = {"name": name, "source": e.get("source", ""), "heldout": e.get("heldout", False),
           "params": e.get("params"), "compile": {}, "errors": []}
    if e.get("skipped"):
        row["skipped"] = e["skipped"]
        return row
    sodir = os.path.join(work, "so")
    os.makedirs(sodir, exist_ok=True)
    in_names = [i["name"] for i in e["inputs"]]
    out_names = [o["name"] for o in e["outputs"]]
    files8 = {i["name"]: os.path.join(mdir, i["file"]) for i in e["inputs"]}
    x8 = {n: np.load(f) for n, f in files8.items()}
    calib = {i["name"]: np.load(os.path.join(mdir, i["calib"])) for i in e["inputs"]}
    dims = e.get("dims", {})
    primary = "17" if "17" in e["onnx"] else sorted(e["onnx"])[-1]
    if e.get("opset18_error"):
        row["errors"].append("opset 18: no copy: " + e["opset18_error"])

    ref = {}

    def ort_ref():
        if not ref:
            s = ort_session(os.path.join(mdir, e["onnx"][primary]))
            ref["sess"] = s
            ref["y8"] = dict(zip(out_names, s.run(out_names, x8)))
        return ref["y8"]

    def compile_(model, so, opts, batch=TEST_BATCH):
        """qkc compile; when qkc says the dynamic batch cannot be kept (a transpose that
        moves it, as nn.MultiheadAttention's seq-first layout does) and asks for --batch N,
        this model is compiled with --batch 8 (the test batch; int8: the calibration
        batch) from then on."""
        if row.get("fixed_batch"):
            return qkc.compile(model, so, ["--batch", str(batch)] + opts, dims)
        c = qkc.compile(model, so, opts, dims)
        if not c["ok"] and "--batch N" in c.get("why", ""):
            row["fixed_batch"] = TEST_BATCH
            row["errors"].append("dynamic batch: %s -- compiled with --batch %d instead (int8: --batch of the "
                                 "calibration samples, run in chunks; no batch-1 latency)" % (c["why"], TEST_BATCH))
            log("%s: the dynamic batch fails; again with --batch %d" % (name, TEST_BATCH))
            return qkc.compile(model, so, ["--batch", str(TEST_BATCH)] + opts, dims)
        return c

    # 1-2. fp32 at every opset
    row["fp32"] = {}
    for k in sorted(e["onnx"], key=int):
        so = os.path.join(sodir, "%s_op%s.fp32.so" % (name, k))
        log("%s: qkc compile fp32, opset %s" % (name, k))
        c = compile_(os.path.join(mdir, e["onnx"][k]), so, [])
        row["compile"]["fp32@%s" % k] = c
        cell = {"compiles": c["ok"]}
        if c["ok"]:
            try:
                y = qkc.run(so, files8, out_names, os.path.join(work, "out", "%s_op%s.fp32" % (name, k)))
                cell["err"] = rel_err(y, ort_ref())
            except Exception as ex:
                cell["run_error"] = str(ex)[:300]
                row["errors"].append("fp32 opset %s: %s" % (k, cell["run_error"]))
        else:
            row["errors"].append("fp32 opset %s: %s" % (k, c["why"]))
        row["fp32"][k] = cell
    p32 = os.path.join(sodir, "%s_op%s.fp32.so" % (name, primary))
    fp32_ok = row["fp32"][primary]["compiles"] and "err" in row["fp32"][primary]
    timed_out = "timed out" in row["compile"]["fp32@%s" % primary].get("why", "")

    # 3. fp16 and int8 (opset 17)
    variants = {}
    if not timed_out:
        ncal = len(next(iter(calib.values())))
        if row.get("fixed_batch"):  # calibration batches must have the artifact's batch: all in one
            cdir = os.path.join(work, "calib", name)
            shutil.rmtree(cdir, ignore_errors=True)
            os.makedirs(cdir)
            for n, a in calib.items():
                np.save(os.path.join(cdir, "%s.npy" % n), a)
            calib_opts = [a for n in in_names for a in ("--calib", "%s=%s" % (n, os.path.join(cdir, n + ".npy")))]
            row["int8_batch"] = ncal
        elif len(in_names) == 1:
            cdir = os.path.join(work, "calib", name)
            shutil.rmtree(cdir, ignore_errors=True)
            os.makedirs(cdir)
            a = calib[in_names[0]]
            for j in range(len(a)):
                np.save(os.path.join(cdir, "%03d.npy" % j), a[j:j + 1])
            calib_opts = ["--calib", cdir]
        else:
            calib_opts = [a for i in e["inputs"] for a in ("--calib", "%s=%s" % (i["name"], os.path.join(
                mdir, i["calib"])))]
        # int8w7: --weight-bits 7 (x86 without VNNI: exact pmaddubsw kernels)
        for prec, opts in (("fp16", ["--precision", "fp16"]), ("bf16", ["--precision", "bf16"]),
                           ("int8", ["--precision", "int8"] + calib_opts),
                           ("int8w7", ["--precision", "int8", "--weight-bits", "7"] + calib_opts)):
            if prec.startswith("int8") and not row["fp32"][primary]["compiles"]:
                # it would fail the same way, but only after calibrating (minutes on big models)
                row["errors"].append("int8: not tried (the fp32 model does not compile)")
                continue
            so = os.path.join(sodir, "%s_op%s.%s.so" % (name, primary, prec))
            log("%s: qkc compile %s" % (name, prec))
            c = compile_(os.path.join(mdir, e["onnx"][primary]), so, opts,
                         batch=row.get("int8_batch", TEST_BATCH) if prec.startswith("int8") else TEST_BATCH)
            row["compile"][prec] = c
            if not c["ok"]:
                row["errors"].append("%s: %s" % (prec, c["why"]))
                continue
            try:
                y = qkc.run(so, files8, out_names, os.path.join(work, "out", "%s.%s" % (name, prec)),
                            chunk=row.get("int8_batch") if prec.startswith("int8") else None)
            except Exception as ex:
                row["errors"].append("%s: %s" % (prec, str(ex)[:300]))
                continue
            variants[prec] = so
            if prec == "fp16":
                row["fp16_err"] = rel_err(y, ort_ref())
            elif prec == "bf16":
                row["bf16_agree"], row["bf16_sqnr"] = agree_sqnr(y, ort_ref())
            else:
                row[prec + "_agree"], row[prec + "_sqnr"] = agree_sqnr(y, ort_ref())

    # 4. ONNX Runtime int8, when qkc compiled something to compare with
    ort8 = None
    if fp32_ok or "int8" in variants:
        q = os.path.join(work, "ort", "%s_ort_int8.onnx" % name)
        os.makedirs(os.path.dirname(q), exist_ok=True)
        log("%s: ORT quantize_static" % name)
        t0 = time.perf_counter()
        try:
            note = ort_quantize(os.path.join(mdir, e["onnx"][primary]), q, calib)
            row["ort_quant_s"] = round(time.perf_counter() - t0, 1)
            if note:
                row["errors"].append("ORT int8: " + note)
            s8 = ort_session(q)
            y = dict(zip(out_names, s8.run(out_names, x8)))
            row["ort_int8_agree"], row["ort_int8_sqnr"] = agree_sqnr(y, ort_ref())
            ort8 = q
        except Exception as ex:
            msg = str(ex).strip().splitlines()
            row["errors"].append("ORT int8: %s: %s" % (type(ex).__name__, msg[-1][:300] if msg else ""))

    # 5. latency, batch 1 and 8, one thread
    if quick or not fp32_ok:
        return row
    if qk is None:
        row["errors"].append("latency: no ctypes runtime (%s)" % QK_WHY[0])
        return row
    row["latency_ms"] = {}
    for B in (1, TEST_BATCH):
        if row.get("fixed_batch") and B != row["fixed_batch"]:
            continue
        feeds = {n: np.ascontiguousarray(a[:B]) for n, a in x8.items()}
        try:
            s32 = ort_session(os.path.join(mdir, e["onnx"][primary]))
            shapes = {n: y.shape for n, y in zip(out_names, s32.run(out_names, feeds))}
            fns = {"qkc fp32": QkRunner(qk, p32, feeds, shapes), "ORT fp32": lambda s=s32: s.run(out_names, feeds)}
            if "bf16" in variants:
                fns["qkc bf16"] = QkRunner(qk, variants["bf16"], feeds, shapes)
            for v in ("int8", "int8w7"):
                if v in variants and not row.get("int8_batch"):
                    fns["qkc " + v] = QkRunner(qk, variants[v], feeds, shapes)
            if ort8:
                s8b = ort_session(ort8)
                fns["ORT int8"] = lambda s=s8b: s.run(out_names, feeds)
            log("%s: latency at batch %d (%s)" % (name, B, ", ".join(fns)))
            row["latency_ms"][str(B)] = {k: v * 1e3 for k, v in time_all(fns).items()}
        except Exception as ex:
            row["errors"].append("latency batch %d: %s" % (B, str(ex)[:300]))
        finally:
            qk.close_all()
    return row


# ---- the report ------------------------------------------------------------------------------------

def cpu_summary():
    name, flags = platform.processor() or "unknown", set()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for ln in out.splitlines():
            if ln.startswith("Model name:"):
                name = ln.split(":", 1)[1].strip()
            if ln.startswith("Flags:"):
                flags = set(ln.split(":", 1)[1].split())
        cores = re.search(r"^CPU\(s\):\s+(\d+)", out, re.M)
        name += ", %s CPUs" % cores.group(1) if cores else ""
    except OSError:
        pass
    keys = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
            "avx512_fp16", "amx_tile", "amx_int8"]
    return name, " ".join(k for k in keys if k in flags) or "(no lscpu flags)"


def fmt(v, kind):
    if v is None:
        return "—"
    if isinstance(v, float) and v != v:
        return "nan"
    if kind == "err":
        return "%.1e" % v
    if kind == "pct":
        return "%.1f%%" % (100 * v)
    if kind == "db":
        return "inf" if v == float("inf") else "%.1f" % v
    if kind == "ms":
        return "%.3g" % v
    return str(v)


def tables(rows):
    L = []
    L.append("| model | params | op13 | op17 | op18 | fp32 max err | fp16 max err | bf16 top-1 / SQNR dB | int8 top-1 | "
             "int8 SQNR dB | int8 w7 top-1 / SQNR dB | ORT int8 top-1 | ORT int8 SQNR dB |")
    L.append("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.get("skipped"):
            L.append("| %s | — | skipped: %s | | | | | | | | | | |" % (r["name"], r["skipped"][:150].replace("|", "/")))
            continue
        cells = []
        for k in ("13", "17", "18"):
            c = r["fp32"].get(k)
            if c is None:
                cells.append("—")
            elif not c["compiles"]:
                cells.append("FAIL")
            elif "err" not in c:
                cells.append("run FAIL")
            else:
                cells.append("ok" if c["err"] <= FP32_TARGET else "ok, err %.0e" % c["err"])
        p = r["fp32"].get("17") or next(iter(r["fp32"].values()), {})
        L.append("| %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s | %s |" % (
            r["name"] + (" (held out)" if r["heldout"] else "") + (
                " (--batch %d)" % r["fixed_batch"] if r.get("fixed_batch") else ""),
            "%.1fM" % (r["params"] / 1e6) if r.get("params") else "—", " | ".join(cells),
            fmt(p.get("err"), "err"), fmt(r.get("fp16_err"), "err"), fmt(r.get("bf16_agree"), "pct"),
            fmt(r.get("bf16_sqnr"), "db"), fmt(r.get("int8_agree"), "pct"),
            fmt(r.get("int8_sqnr"), "db"), fmt(r.get("int8w7_agree"), "pct"), fmt(r.get("int8w7_sqnr"), "db"),
            fmt(r.get("ort_int8_agree"), "pct"), fmt(r.get("ort_int8_sqnr"), "db")))
    L.append("")
    L.append("| model | qkc fp32 b1 | ORT fp32 b1 | qkc bf16 b1 | qkc int8 b1 | qkc int8 w7 b1 | ORT int8 b1 | "
             "qkc fp32 b8 | ORT fp32 b8 | qkc bf16 b8 | qkc int8 b8 | qkc int8 w7 b8 | ORT int8 b8 | "
             "compile s fp32 / fp16 / int8 | compiler peak MiB |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r.get("skipped"):
            continue
        lat = r.get("latency_ms", {})
        cells = [fmt(lat.get(b, {}).get(k), "ms") for b in ("1", "8")
                 for k in ("qkc fp32", "ORT fp32", "qkc bf16", "qkc int8", "qkc int8w7", "ORT int8")]
        comp = r["compile"]
        c32 = comp.get("fp32@17") or next((v for k, v in comp.items() if k.startswith("fp32")), {})
        secs = " / ".join(("%.1f" % comp[k]["secs"]) if comp.get(k, {}).get("ok") else
                          ("—" if k not in comp else "fail") for k in ("fp32@17", "fp16", "int8"))
        peak = max([v["peak_mib"] for v in comp.values() if v.get("ok")] or [0])
        L.append("| %s | %s | %s | %s |" % (r["name"], " | ".join(cells), secs,
                                            "%.0f" % peak if peak else "—"))
    return L


def report(rows, args, cpu, elapsed, qkc_rev, has_dim, path):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    L = ["# The model zoo (issue 9)", "",
         "Written by `bench/zoo/zoo.py` (see bench/zoo/README.md). Random weights (fixed seeds), "
         "ONNX Runtime's fp32 output as the reference.", "",
         "- date: %s; %.0f minutes" % (now, elapsed / 60),
         "- command: `%s`" % " ".join(shlex.quote(a) for a in [os.path.relpath(os.path.join(HERE, "zoo.py"), ROOT)] + sys.argv[1:]),
         "- CPU: %s; flags: %s" % cpu,
         "- qkc: %s%s" % (qkc_rev, "" if has_dim else " (no --dim yet: the sequence dims were fixed in a copy of "
                                                      "each transformer model)"),
         "- %s" % versions(), "",
         "fp32 max err = max|qkc - ORT| / max|ORT| on the 8-sample test batch (target <= 1e-4); op13/op17/op18: "
         "qkc compiles and runs the fp32 model of that opset (`—`: no such copy). int8 top-1: agreement of the "
         "argmax over the last axis with ORT fp32; SQNR against ORT fp32 (bf16 likewise: `--precision bf16`, on "
         "vdpbf16ps where the CPU has AVX512-BF16). int8 w7: `--weight-bits 7` (each two "
         "neighboring weights within [-128, 128]: on x86 without VNNI its products run on pmaddubsw, exactly). "
         "ORT int8: quantize_static, "
         "QDQ, MinMax, per-channel, same calibration samples. Latency: ms per batch, one thread, medians, "
         "alternating.", ""]
    L += tables(rows)
    fails = [(r["name"], e) for r in rows for e in r.get("errors", [])]
    if fails:
        L += ["", "## What failed", ""]
        L += ["- %s: %s" % (n, e.replace("\n", " ")) for n, e in fails]
    census = {}
    for r in rows:
        for c in r.get("compile", {}).values():
            for op in c.get("unsupported", []):
                census.setdefault(op, set()).add(r["name"])
    if census:
        L += ["", "## Ops qkc does not support yet, and the models that use them", ""]
        L += ["- %s: %s" % (op, ", ".join(sorted(ms))) for op, ms in
              sorted(census.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    text = "\n".join(L) + "\n"
    if path:
        with open(path, "w") as f:
            f.write(text)
    return text


def versions():
    out = []
    for mod in ("onnxruntime", "onnx", "numpy"):
        try:
            out.append("%s %s" % (mod, __import__(mod).__version__))
        except Exception:
            pass
    return ", ".join(out) + "; models: torch/torchvision of Debian, transformers 4.38.2"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


QK_WHY = ["not tried"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="the build folder with qkc (default build)")
    ap.add_argument("--work", help="models, artifacts, outputs (default BUILD/zoo-work)")
    ap.add_argument("--models", help="comma-separated subset (build_models.py --list names them)")
    ap.add_argument("--heldout", action="store_true", help="the held-out models instead of the zoo")
    ap.add_argument("--quick", action="store_true", help="skip the latency measurements")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds for any one qkc command (default 1800)")
    ap.add_argument("--calib-samples", type=int, default=2,
                    help="calibration samples per model (default 2: qkc calibrates with its reference "
                         "interpreter, which takes minutes per sample on the big models)")
    ap.add_argument("--report", help="default bench/ZOO.md (with --heldout: bench/ZOO-heldout.md)")
    ap.add_argument("--no-report", action="store_true", help="print the tables only")
    args = ap.parse_args()
    if not args.report:
        args.report = os.path.join(ROOT, "bench", "ZOO-heldout.md" if args.heldout else "ZOO.md")
    bootstrap()
    sys.path.insert(0, os.path.dirname(HERE))  # bench/, for benchlib
    sys.path.insert(0, HERE)
    import build_models as bm
    t_start = time.time()
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.work or os.path.join(build, "zoo-work"))
    mdir = os.path.join(work, "models")
    os.makedirs(mdir, exist_ok=True)
    args.report = os.path.abspath(args.report)
    os.chdir(work)  # ONNX Runtime's quant_pre_process leaves temporary files in the current directory
    if not os.access(os.path.join(build, "qkc"), os.X_OK):
        sys.exit("zoo: %s/qkc not found: build qkc first (make build)" % build)
    # a copy of the compiler and the runtime: a rebuild during the run cannot mix versions
    bindir = os.path.join(work, "bin")
    os.makedirs(os.path.join(bindir, "runtime"), exist_ok=True)
    shutil.copy2(os.path.join(build, "qkc"), os.path.join(bindir, "qkc"))
    if os.path.exists(os.path.join(build, "runtime", "libqkrt.a")):
        shutil.copy2(os.path.join(build, "runtime", "libqkrt.a"), os.path.join(bindir, "runtime", "libqkrt.a"))
    qkc = Qkc(os.path.join(bindir, "qkc"), args.timeout)
    qk = None
    if not args.quick:
        try:
            from benchlib import Qkrt, build_qkrt_so
            qk = Qkrt(build_qkrt_so(bindir, bindir))
        except Exception as ex:
            QK_WHY[0] = str(ex)[:200]
            log("no ctypes runtime for the latency: %s" % QK_WHY[0])

    names = args.models.split(",") if args.models else list(bm.HELDOUT if args.heldout else bm.ZOO)
    bad = [n for n in names if n not in bm.ZOO and n not in bm.HELDOUT]
    if bad:
        sys.exit("zoo: unknown model(s) %s (python3 bench/zoo/build_models.py --list)" % ", ".join(bad))

    # the models: Debian's torch (build_models.py re-runs itself in bench/zoo/.venv), then the
    # opset-18 copies with this Python's onnx
    if not os.path.exists(DEBIAN_PY):
        sys.exit("zoo: %s not found: the models are built with Debian's python3-torch" % DEBIAN_PY)
    log("building the models in %s" % mdir)
    cmd = [DEBIAN_PY, os.path.join(HERE, "build_models.py"), mdir, "--models", ",".join(names),
           "--calib-samples", str(args.calib_samples)]
    p = subprocess.run(cmd)
    if p.returncode != 0:
        sys.exit("zoo: building the models failed (exit %d): %s" % (p.returncode, " ".join(cmd)))
    subprocess.run([sys.executable, os.path.join(HERE, "build_models.py"), "--opset18", mdir, "--models",
                    ",".join(names)])
    with open(os.path.join(mdir, "manifest.json")) as f:
        man = json.load(f)["models"]

    import numpy as np  # noqa: F401  (after bootstrap: this Python has it)
    rows, cpu, rev = [], cpu_summary(), git_rev()
    results = os.path.join(work, "zoo-results.json")
    for n in names:
        e = man.get(n) or {"name": n, "skipped": "not built (see build_models.py's messages)"}
        t0 = time.time()
        try:
            row = zoo_model(e, mdir, work, qkc, qk, args.quick)
        except Exception as ex:  # a bug here or an ORT failure: a row, not the end of the zoo
            import traceback
            row = {"name": n, "heldout": e.get("heldout", False), "compile": {}, "fp32": {},
                   "errors": ["zoo.py: %s" % traceback.format_exc().strip().splitlines()[-1][:300]]}
        row["zoo_s"] = round(time.time() - t0, 1)
        rows.append(row)
        log("%s: done in %.0f s%s" % (n, row["zoo_s"], (": " + row["errors"][0]) if row.get("errors") else ""))
        with open(results, "w") as f:
            json.dump(rows, f, indent=1, default=str)
        report(rows, args, cpu, time.time() - t_start, rev, qkc.has_dim, None if args.no_report else args.report)
    text = report(rows, args, cpu, time.time() - t_start, rev, qkc.has_dim, None if args.no_report else args.report)
    print(text)
    if not args.no_report:
        log("wrote %s and %s" % (args.report, results))


if __name__ == "__main__":
    main()
