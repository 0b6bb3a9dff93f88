#!/usr/bin/python3
"""e2e_zoo.py -- the CI-sized model zoo (issue 9): small members of every
family of bench/zoo (ResNet, MobileNet v2/v3, EfficientNet, SqueezeNet,
ShuffleNet, DenseNet, GoogLeNet, Inception v3, RegNet, ConvNeXt, BERT,
GPT-2, ViT, Whisper's encoder), built by tests/zoo/small_models.py with
PyTorch (random weights, fixed seeds; exported with a dynamic batch at
opsets 13 and 17), each checked against PyTorch's own output:

  1. x86-64 (this machine), fp32, opsets 13 and 17: `qkc compile`, `qkc run`
     on the test batch (2 samples); max|qkc - torch| / max|torch| <= 1e-4.
     At opset 17, `qkc interp` (the reference interpreter) too: against
     PyTorch and against the artifact, same bound. Where the opset-13 export
     is the opset-17 graph but for the opset number (most CNNs), the opset-13
     model is run by `qkc interp` only (the same graph compiles to the same
     code; this keeps the test near 5 minutes).
  2. AArch64, fp32, opset 17: `qkc compile --target aarch64`, run under qemu
     by `qkc run`; the same bound against PyTorch and the interpreter
     (skipped with the reason when qemu-aarch64 or the runner is missing).
  3. fp16, opset 17, x86-64: max|fp16 - torch| / max|torch| <= 1e-2.
  4. Calibration (ENGINE_MODELS): the compiled engine's profile (`qkc
     calibrate`, the default) names the interpreter's tensors with the same counts (exact
     zeros within 1e-4 of them: a value within rounding of 0 may be 0 for
     one engine only), and every range is within 1e-4 (relative) of the
     interpreter's; with 1 and
     3 threads the profiles are identical byte for byte.
  5. int8, opset 17, x86-64: `--precision int8 --calib` with 8 random
     calibration samples (not the test batch): output SQNR against PyTorch
     >= 10 dB. A broken scale, zero point or layout gives 0 dB or less;
     these narrow random nets are hard on int8 (ONNX Runtime's
     quantize_static on the same data gets 6-37 dB; qkc 12.8-55.7 dB, vit
     and mobilenet_v3 the lowest). The top-1 agreement with PyTorch is
     reported, not checked (2 samples).
  6. `qkc eval` on bert, gpt2 and resnet (several inputs by name): its
     int8 SQNR and agreement equal those computed here from `qkc run`, every
     quantized layer has a per-layer SQNR, the float ops are counted.

BERT's and GPT-2's sequence dim is symbolic ("seq"): they get `--dim seq=16`
(a qkc whose --help has no --dim gets a copy of the model with "seq" fixed
instead). A compile that fails is a
FAIL line naming the model, the target and qkc's message; the summary lists
every op qkc called unsupported, with the models that use it. The models are
cached in WORK_DIR/models (rebuilt when small_models.py changes).

Exit 77 (skip) when python3-torch or python3-torchvision is missing.

--aarch64-runner QEMU names qemu-aarch64 (default: $QKC_QEMU_AARCH64, else
the one on PATH; an empty value means the default; `none` skips AArch64).
--models runs a subset (tests/zoo/small_models.py --list names them).
About 3 minutes on 2 vCPUs (compiles dominate; the models are cached).

    e2e_zoo.py QKC SOURCE_DIR WORK_DIR [--aarch64-runner QEMU|none] [--models a,b] [-v]"""
import importlib.util
import json
import os
import re
import shutil
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, rest = paths_from_argv(__doc__)
T0 = time.time()
TIMEOUT_BUILD = 600    # exporting every model (about 10 s here, plus torch's import)
TIMEOUT_COMPILE = 240  # one qkc compile (1-5 s for these models)
FP32_TOL, FP16_TOL, INT8_MIN_SQNR = 1e-4, 1e-2, 10.0


def option(name, default=None):
    if name in rest:
        i = rest.index(name)
        if i + 1 < len(rest):
            return rest[i + 1]
    return default


suite = Suite("e2e_zoo")
suite.verbose = True  # every line carries its numbers
missing = [m for m in ("torch", "torchvision") if importlib.util.find_spec(m) is None]
if missing:
    print("SKIP e2e_zoo: %s not installed for %s (apt-get install python3-torch python3-torchvision)" % (
        " and ".join(missing), sys.executable))
    sys.exit(77)


def path(*p):
    return os.path.join(WORK, *p)


# ---- the models ---------------------------------------------------------------------------

MODELS_DIR = path("models")
_manifest, _export_errors = {}, {}


def build_models():
    cmd = [sys.executable, "-B", os.path.join(SRC, "tests", "zoo", "small_models.py"), MODELS_DIR]
    if option("--models"):
        cmd += ["--models", option("--models")]
    t = time.time()
    r = run(cmd, timeout=TIMEOUT_BUILD)
    expect(r.rc == 0, "small_models.py failed", r)
    with open(os.path.join(MODELS_DIR, "manifest.json")) as f:
        man = json.load(f)
    wanted = option("--models").split(",") if option("--models") else list(man["models"]) + list(
        man.get("errors", {}))
    _manifest.update((n, m) for n, m in man["models"].items() if n in wanted)
    _export_errors.update((n, e) for n, e in man.get("errors", {}).items() if n in wanted)
    built = [ln.split()[1] for ln in r.out.splitlines() if ln.startswith("exported")]
    return "%d models (%s) in %.1f s" % (len(_manifest), "exported: " + ", ".join(built) if built else "cached",
                                         time.time() - t)


suite.check("small models built and exported (tests/zoo/small_models.py)", build_models)
for _n, _e in sorted(_export_errors.items()):
    suite.check("%s: export to ONNX" % _n, lambda e=_e: expect(False, "small_models.py could not export it: " + e))
if not _manifest:
    suite.finish()


# ---- qkc ------------------------------------------------------------------------------------

def has_option(sub, opt):
    r = run([QKC, sub, "--help"])
    return opt in r.out + r.err


HAS_DIM = {sub: has_option(sub, "--dim") for sub in ("compile", "interp")}
HAS_CALIB_ENGINE = has_option("calibrate", "--calib-engine")
HAS_EVAL_DATA_NAMES = "NAME=X.npy" in run([QKC, "eval", "--help"]).out
unsupported = {}   # op -> set of models whose compile named it unsupported
_cache = {}


def dim_flags(m, sub):
    if not m["dims"] or not HAS_DIM[sub]:
        return []
    return [a for k, v in sorted(m["dims"].items()) for a in ("--dim", "%s=%d" % (k, v))]


def model_file(m, opset, sub):
    """The model at `opset` for `qkc SUB`: as exported, or, when SUB has no --dim, a
    copy with the symbolic dims other than the batch fixed."""
    f = os.path.join(MODELS_DIR, m["onnx"][str(opset)])
    if not m["dims"] or HAS_DIM[sub]:
        return f
    dst = f[:-len(".onnx")] + ".fixed-%s.onnx" % "-".join("%s%d" % kv for kv in sorted(m["dims"].items()))
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(f):
        g = onnx.load(f)
        for vi in list(g.graph.input) + list(g.graph.output) + list(g.graph.value_info):
            for d in vi.type.tensor_type.shape.dim:
                if d.HasField("dim_param") and d.dim_param in m["dims"]:
                    d.dim_value = m["dims"][d.dim_param]
        onnx.save(g, dst)
    return dst


def input_flags(m):
    return [a for i in m["inputs"] for a in ("--input", "%s=%s" % (i["name"], os.path.join(MODELS_DIR, i["file"])))]


NODE_UNSUPPORTED = r"node '[^']*' \(([A-Za-z][\w.]*)\): [^\n]*(?:not implemented|not supported|no kernel)"


def parse_unsupported(text):
    """The op types of qkc's 'error: unsupported op(s): A (node 'x', ...), B (...)'
    (or of its "node 'x' (Op): ... not implemented / no kernel yet" lines)."""
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


def qkc_message(r):
    """qkc's diagnostic, shortened: the first lines of stderr."""
    lines = [ln for ln in (r.err or r.out).splitlines() if ln.strip()]
    text = "\n".join(lines[:4])
    return text[:1200] + (" ..." if len(text) > 1200 else "")


def compile_(name, opset, tag, *opts):
    """qkc compile of model `name` at `opset` into WORK/so/NAME_opK.TAG.so,
    once; a failure is a Failure with qkc's message (and its unsupported ops
    recorded)."""
    key = (name, opset, tag)
    if key in _cache:
        so, err = _cache[key]
        if err:
            raise Failure(err)
        return so
    m = _manifest[name]
    os.makedirs(path("so"), exist_ok=True)
    so = path("so", "%s_op%s.%s.so" % (name, opset, tag))
    if os.path.exists(so):
        os.remove(so)
    model = model_file(m, opset, "compile")
    r = run([QKC, "compile", model, "-o", so] + dim_flags(m, "compile") + list(opts), timeout=TIMEOUT_COMPILE)
    err = None
    if r.rc != 0 or not os.path.exists(so):
        ops = parse_unsupported(r.err)
        for op in ops:
            unsupported.setdefault(op, set()).add(name)
        err = "qkc compile failed (exit %d)%s:\n%s" % (r.rc, " -- unsupported: " + ", ".join(ops) if ops else "",
                                                      qkc_message(r))
    _cache[key] = (so, err)
    if err:
        raise Failure(err)
    return so


def outputs_of(name, cmd, outdir, env=None):
    m = _manifest[name]
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(os.path.dirname(outdir), exist_ok=True)
    r = run(cmd + input_flags(m) + ["--output-dir", outdir], env=env, timeout=TIMEOUT_COMPILE)
    if r.rc != 0:
        raise Failure("%s failed (exit %d):\n%s" % (" ".join(os.path.basename(c) for c in cmd[:2]), r.rc,
                                                    qkc_message(r)))
    outs = {}
    for o in m["outputs"]:
        f = os.path.join(outdir, o["name"] + ".npy")
        expect(os.path.exists(f), "%s wrote no %s.npy" % (cmd[1], o["name"]), r)
        outs[o["name"]] = load_npy(f)
    return outs


def refs(name):
    m = _manifest[name]
    return {o["name"]: load_npy(os.path.join(MODELS_DIR, o["ref"])) for o in m["outputs"]}


def rel_err(out, ref):
    """max|out - ref| / max|ref| (inf on a shape mismatch or a NaN)."""
    if out.shape != ref.shape:
        return float("inf")
    ref64 = ref.astype(np.float64)
    d = np.abs(out.astype(np.float64) - ref64)
    if np.isnan(d).any():
        return float("inf")
    return float(d.max() / max(np.abs(ref64).max(), 1e-30))


def sqnr_db(out, ref):
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    noise = float(np.sum((out - ref) ** 2))
    if np.isnan(noise):
        return float("-inf")
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / noise)


def compare(name, outs, against, tol, what):
    errs = {}
    for k, ref in against.items():
        expect(k in outs, "%s: no output %s" % (what, k))
        expect(outs[k].shape == ref.shape, "%s: output %s has shape %s, PyTorch's %s" % (
            what, k, outs[k].shape, ref.shape))
        e = rel_err(outs[k], ref)
        if not e <= tol:
            bad = np.unravel_index(np.nanargmax(np.abs(outs[k].astype(np.float64) - ref)), ref.shape)
            raise Failure("%s: output %s: max|err|/max|ref| = %.3g > %.0e (worst at %s: %r vs %r)" % (
                what, k, e, tol, tuple(int(i) for i in bad), float(outs[k][bad]), float(ref[bad])))
        errs[k] = e
    return max(errs.values())


_interp = {}


def interp_outputs(name):
    if name not in _interp:
        m = _manifest[name]
        model = model_file(m, 17, "interp")
        try:
            _interp[name] = outputs_of(name, [QKC, "interp", model] + dim_flags(m, "interp"),
                                       path("out", name + ".interp"))
        except Failure as e:
            _interp[name] = e
    if isinstance(_interp[name], Failure):
        raise Failure("qkc interp: %s" % _interp[name])
    return _interp[name]


# ---- checks ---------------------------------------------------------------------------------

results = {}  # (model, column) -> short text for the summary


def record(name, col, fn):
    """fn, with a short summary cell kept in results: "ok 2.2e-07", "ok 41.5 dB",
    "FAIL compile", "FAIL run", "FAIL check", "skip"."""
    def wrapped():
        try:
            note = fn()
        except Skip:
            results[(name, col)] = "skip"
            raise
        except Failure as e:
            t = str(e)
            results[(name, col)] = "FAIL " + ("compile" if t.startswith("qkc compile") else
                                              "run" if " failed (exit" in t.split("\n")[0] else "check")
            raise
        except Exception:
            results[(name, col)] = "FAIL (test error)"
            raise
        short = note.split(";")[0].replace(" vs torch", "").replace("SQNR ", "") if note else ""
        results[(name, col)] = "ok " + short
        return note
    return wrapped


_same = {}


def same_graph_as_17(name):
    """Whether the opset-13 export is the opset-17 one but for the opset number."""
    if name not in _same:
        m = _manifest[name]
        g = [onnx.load(os.path.join(MODELS_DIR, m["onnx"][k])).graph.SerializeToString() for k in ("13", "17")]
        _same[name] = g[0] == g[1]
    return _same[name]


def check_x86_fp32(name, opset):
    if opset == 13 and same_graph_as_17(name):
        # the same graph compiles to the same code: import it at opset 13 and run it
        # with the interpreter (cheap) instead of compiling it twice
        m = _manifest[name]
        outs = outputs_of(name, [QKC, "interp", model_file(m, 13, "interp")] + dim_flags(m, "interp"),
                          path("out", "%s_op13.interp" % name))
        e = compare(name, outs, refs(name), FP32_TOL, "qkc interp (opset 13) vs PyTorch")
        return "%.1e vs torch; the graph is opset 17's: qkc interp at opset 13, compiled at 17 only" % e
    so = compile_(name, opset, "fp32")
    outs = outputs_of(name, [QKC, "run", so], path("out", "%s_op%s.fp32" % (name, opset)))
    e = compare(name, outs, refs(name), FP32_TOL, "vs PyTorch")
    note = "%.1e vs torch" % e
    if opset == 17:
        ie = compare(name, interp_outputs(name), refs(name), FP32_TOL, "qkc interp vs PyTorch")
        ce = compare(name, outs, interp_outputs(name), FP32_TOL, "vs qkc interp")
        note += "; interp vs torch %.1e, artifact vs interp %.1e" % (ie, ce)
    return note


def aarch64_why_not():
    arg = option("--aarch64-runner")
    if arg == "none":
        return "--aarch64-runner none"
    qemu = arg or os.environ.get("QKC_QEMU_AARCH64") or shutil.which("qemu-aarch64")
    if not qemu or not os.access(qemu, os.X_OK):
        return "qemu-aarch64 is not installed (apt-get install qemu-user)" if not arg else \
            "%s is not an executable" % arg
    runner = os.path.join(os.path.dirname(QKC), "qkc-run-aarch64")
    if not os.access(runner, os.X_OK):
        return "the cross-built runner %s is missing (no aarch64-linux-gnu-gcc at build time)" % runner
    return None


A64_WHY = aarch64_why_not()
A64_ENV = None
if not A64_WHY:
    A64_ENV = dict(os.environ)
    q = option("--aarch64-runner") or os.environ.get("QKC_QEMU_AARCH64")
    if q:
        A64_ENV["QKC_QEMU_AARCH64"] = q


def check_aarch64(name):
    if A64_WHY:
        raise Skip(A64_WHY)
    so = compile_(name, 17, "aarch64", "--target", "aarch64")
    outs = outputs_of(name, [QKC, "run", so], path("out", "%s.aarch64" % name), env=A64_ENV)
    e = compare(name, outs, refs(name), FP32_TOL, "AArch64 (qemu) vs PyTorch")
    try:
        ce = "%.1e" % compare(name, outs, interp_outputs(name), FP32_TOL, "AArch64 (qemu) vs qkc interp")
    except Failure as f:
        if "qkc interp:" not in str(f):
            raise
        ce = "n/a (interp failed)"
    return "%.1e vs torch; vs interp %s" % (e, ce)


def check_fp16(name):
    so = compile_(name, 17, "fp16", "--precision", "fp16")
    outs = outputs_of(name, [QKC, "run", so], path("out", "%s.fp16" % name))
    e = compare(name, outs, refs(name), FP16_TOL, "fp16 vs PyTorch")
    return "%.1e vs torch" % e


def profile_diff(a, b):
    """The worst |min/max difference| / max(|min|, |max|) between two profiles (JSON
    files) over their tensors; a Failure when their tensors or counts differ."""
    with open(a) as f:
        ta = json.load(f)["tensors"]
    with open(b) as f:
        tb = json.load(f)["tensors"]
    expect(set(ta) == set(tb), "the profiles name different tensors: %s" % sorted(set(ta) ^ set(tb))[:5])
    worst = 0.0
    for k, x in ta.items():
        y = tb[k]
        for f in ("count", "nonfinite"):
            expect(x[f] == y[f], "tensor %s: %s %r vs %r" % (k, f, x[f], y[f]))
        # a value within rounding of 0 before a Relu is 0 for one engine and
        # not for the other: the exact zeros may differ by a few
        expect(abs(x["zeros"] - y["zeros"]) <= max(2, 1e-4 * x["count"]), "tensor %s: zeros %d vs %d" % (
            k, x["zeros"], y["zeros"]))
        span = max(abs(x["min"]), abs(x["max"]), 1e-30)
        worst = max(worst, abs(x["min"] - y["min"]) / span, abs(x["max"] - y["max"]) / span)
    return worst


# the families whose calibration is also run by the interpreter (it costs as
# much as the rest of a model's checks): a CNN with BatchNorm and residuals,
# one with depthwise convs, squeeze-excite and HardSwish, and every transformer
ENGINE_MODELS = ("resnet", "mobilenet_v3", "bert", "gpt2", "vit", "whisper_encoder")


def check_calib_engines(name, calib):
    """The compiled calibration engine (the default) against the interpreter:
    the same tensors and counts, ranges within FP32_TOL; and the same profile,
    byte for byte, with 1 and 3 threads."""
    m = _manifest[name]
    f = model_file(m, 17, "compile")
    os.makedirs(path("out"), exist_ok=True)
    profs = {}
    for tag, opts in (("interp", ["--calib-engine", "interp"]), ("t1", ["--calib-threads", "1"]),
                      ("t3", ["--calib-threads", "3"])):
        profs[tag] = path("out", "%s.%s.qprofile" % (name, tag))
        r = run([QKC, "calibrate", f, "-o", profs[tag]] + dim_flags(m, "compile") + calib + opts,
                timeout=TIMEOUT_COMPILE)
        if r.rc != 0 or "warning" in r.err:  # a warning: the compiled engine fell back to the interpreter
            raise Failure("qkc calibrate %s: exit %d: %s" % (" ".join(opts), r.rc, qkc_message(r)))
    with open(profs["t1"], "rb") as a, open(profs["t3"], "rb") as b:
        expect(a.read() == b.read(), "compiled calibration: the profiles of 1 and 3 threads differ")
    worst = profile_diff(profs["t1"], profs["interp"])
    if not worst <= FP32_TOL:
        raise Failure("compiled calibration vs the interpreter's: a range differs by %.1e relative" % worst)
    return "profile vs interp %.0e" % worst


def check_int8(name):
    m = _manifest[name]
    calib = ["--calib", os.path.join(MODELS_DIR, m["inputs"][0]["calib"])] if len(m["inputs"]) == 1 else \
        [a for i in m["inputs"] for a in ("--calib", "%s=%s" % (i["name"], os.path.join(MODELS_DIR, i["calib"])))]
    engines = [check_calib_engines(name, calib)] if HAS_CALIB_ENGINE and name in ENGINE_MODELS else []
    notes = []
    so = compile_(name, 17, "int8", "--precision", "int8", *calib)
    outs = outputs_of(name, [QKC, "run", so], path("out", "%s.int8" % name))
    for k, ref in refs(name).items():
        expect(outs[k].shape == ref.shape, "int8: output %s has shape %s, PyTorch's %s" % (k, outs[k].shape,
                                                                                           ref.shape))
        s = sqnr_db(outs[k], ref)
        agree = float(np.mean(outs[k].argmax(-1) == ref.argmax(-1)))
        if not s >= INT8_MIN_SQNR:
            raise Failure("int8 output %s: SQNR against PyTorch %.1f dB < %.0f dB (top-1 agreement %.0f%%)" % (
                k, s, INT8_MIN_SQNR, 100 * agree))
        notes.append("SQNR %.1f dB; top-1 agreement %.0f%%" % (s, 100 * agree))
    return "; ".join(notes + engines)


EVAL_MODELS = ("bert", "gpt2", "resnet")  # two int64 inputs; one, and a per-token output; one image input


def check_eval(name):
    """`qkc eval` (--data NAME=FILE per input, --calib, --json) on a zoo model:
    its int8 row's SQNR against fp32 equals the one computed here from the
    outputs of `qkc run` of the same compiles (to 0.05 dB); top-1 agreement
    likewise (over the output's last axis); a per-layer table with a finite
    SQNR for every quantized layer; and the count of ops left in float with
    their reasons."""
    m = _manifest[name]
    calib = ["--calib", os.path.join(MODELS_DIR, m["inputs"][0]["calib"])] if len(m["inputs"]) == 1 else \
        [a for i in m["inputs"] for a in ("--calib", "%s=%s" % (i["name"], os.path.join(MODELS_DIR, i["calib"])))]
    data = [a for i in m["inputs"] for a in ("--data", "%s=%s" % (i["name"], os.path.join(MODELS_DIR, i["file"])))]
    js = path("out", "%s.eval.json" % name)
    os.makedirs(path("out"), exist_ok=True)
    r = run([QKC, "eval", model_file(m, 17, "compile"), "--json", js] + dim_flags(m, "compile") + data + calib,
            timeout=TIMEOUT_BUILD)
    expect(r.rc == 0, "qkc eval: exit %d: %s" % (r.rc, qkc_message(r)))
    with open(js) as f:
        ev = json.load(f)
    rows = {v["precision"]: v for v in ev["variants"]}
    expect("int8" in rows, "qkc eval has no int8 row: %s" % sorted(rows))
    first = m["outputs"][0]["name"]
    fp32 = outputs_of(name, [QKC, "run", compile_(name, 17, "fp32")], path("out", "%s_op17.fp32" % name))[first]
    int8 = outputs_of(name, [QKC, "run", compile_(name, 17, "int8", "--precision", "int8", *calib)],
                      path("out", "%s.int8" % name))[first]
    want = sqnr_db(int8, fp32)
    agree = 100 * float(np.mean(int8.argmax(-1) == fp32.argmax(-1)))
    got = rows["int8"]["sqnr_db"]
    expect(abs(got - want) <= 0.05, "qkc eval: int8 SQNR %.2f dB; from qkc run's outputs %.2f dB" % (got, want))
    expect(abs(rows["int8"]["agreement"] - agree) <= 1e-6, "qkc eval: int8 agreement %.2f%%, from qkc run's "
           "outputs %.2f%%" % (rows["int8"]["agreement"], agree))
    layers = ev.get("layers", [])
    expect(layers and all(0 < l["sqnr_db"] < 999 for l in layers), "qkc eval: per-layer SQNRs %s" % (
        [(l["layer"], l["sqnr_db"]) for l in layers][:6]))
    expect("float_ops" in ev and (ev["float_ops"] == 0) == (ev["float_ops_why"] == ""),
           "qkc eval: float ops %r (%r)" % (ev.get("float_ops"), ev.get("float_ops_why")))
    return "int8 %.1f dB (= qkc run's), %d layers, %d ops in float" % (got, len(layers), ev["float_ops"])


COLUMNS = ["x86 op13", "x86 op17", "aarch64", "fp16", "int8"]
for _n in _manifest:
    suite.check("%s op13 x86_64 fp32" % _n, record(_n, "x86 op13", lambda n=_n: check_x86_fp32(n, 13)))
    suite.check("%s op17 x86_64 fp32" % _n, record(_n, "x86 op17", lambda n=_n: check_x86_fp32(n, 17)))
    suite.check("%s op17 aarch64 fp32" % _n, record(_n, "aarch64", lambda n=_n: check_aarch64(n)))
    suite.check("%s op17 x86_64 fp16" % _n, record(_n, "fp16", lambda n=_n: check_fp16(n)))
    suite.check("%s op17 x86_64 int8" % _n, record(_n, "int8", lambda n=_n: check_int8(n)))
    if _n in EVAL_MODELS and HAS_EVAL_DATA_NAMES:
        suite.check("%s qkc eval (fp32/fp16/int8, per layer)" % _n, check_eval, _n)

# ---- summary ----------------------------------------------------------------------------------

print("\n%-16s %s" % ("model", " | ".join("%-14s" % c for c in COLUMNS)))
for _n in _manifest:
    print("%-16s %s" % (_n, " | ".join("%-14s" % results.get((_n, c), "-")[:14] for c in COLUMNS)))
if unsupported:
    print("\nops qkc called unsupported (and the models that use them):")
    for op, ms in sorted(unsupported.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print("  %-20s %s" % (op, ", ".join(sorted(ms))))
if not HAS_DIM["compile"] and any(m["dims"] for m in _manifest.values()):
    print("\nnote: qkc compile has no --dim yet: %s were compiled from copies with their symbolic dims fixed" % (
        ", ".join(n for n, m in _manifest.items() if m["dims"])))
print("\ne2e_zoo: %.0f s" % (time.time() - T0))
suite.finish()
