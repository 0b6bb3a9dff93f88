#!/usr/bin/python3
"""e2e_quant.py -- int8, fp16 and bf16 on the bundled digits models (host target),
each result checked against an oracle that is not the code under test: the
labels, the fp32 artifact's outputs, ONNX Runtime's fp32 accuracy recorded
in models/quantized/ort_results.json, and numpy arithmetic written here.

  1. MLP and CNN, default options: int8 test accuracy within 0.25 points of
     fp32 and top-1 agreement with fp32 >= 99.5%; fp16 agreement 100% and a
     max relative logit error <= 1e-2, defined per sample as
     max_j |fp16 - fp32| / max_j |fp32| (the worst sample is reported);
     bf16 (8 significant bits, on vdpbf16ps where the host has AVX512-BF16)
     agreement >= 99.5% and that error <= 4e-2. A BERT-style attention
     mask ((1 - m) * -3.4028235e38 added to scores) in fp16 and bf16:
     every probability finite and within 2e-2 of numpy's softmax.
     `qkc eval --json` reports the accuracy, agreement, SQNR and max abs
     error computed here from the `qkc run` outputs, and calls the default
     int8 weights per-channel in every layer.
  2. Bias correction: the default int8 output SQNR against fp32 on the test
     set is >= the --no-bias-correction one, for both models; on a two-Gemm
     model whose second weights all round the same way, the corrected
     artifact has no mean output error left (numpy fp32 reference), in the
     first layer and in the second.
  3. Calibration: digits_calib_x.npy in 3 unequal shards, each calibrated,
     merged in two orders: both merges, the profile of all the data at once
     and the profile of a directory of the shards are byte-identical; an
     artifact compiled with --profile MERGED gives the bit-identical outputs
     of one compiled with --calib.
     The compiled calibration engine (the default) and the interpreter's
     (--calib-engine interp) agree: same tensors and counts, ranges within
     1e-5, equally accurate int8; 1 and 2 threads give the same profile.
  4. Mixed precision: --precision mixed --min-sqnr 45 on the CNN (whose plain
     int8 SQNR on the calibration data is below 45 dB, checked) keeps layers
     in float and says which; the output SQNR of the artifact on the
     calibration data, computed here against fp32, is >= 45 dB; the kept
     layers are nodes of the model, the report lists them, and the artifact
     agrees with `qkc interp --precision int8 --keep-float LIST` (the same
     predictions, logits within 1e-2 of the largest).
  5. --report of an int8 compile is JSON with one entry per quantized layer
     of the plan `qkc inspect` prints (names and ops); the input's range is
     the calibration data's (numpy), its scale 1/255; every weight layer
     reports per-channel scales equal to max|w_c| / 127 of the BN-folded
     weights computed here; every tensor that is a ReLU output (or a
     MaxPool/GlobalAveragePool/Flatten of one, found in the ONNX graph here)
     has zero point 0 and a range from 0, as the docs promise ("a ReLU
     output uses all 256 levels").
  6. Bad quantization input: exit status 1 and a message naming the place
     (file, option), never a crash: int8 without data, wrong-shape and
     empty and non-.npy data, another model's profile, a truncated profile,
     merging profiles of two models; usage errors exit 2 (--calib-method
     bogus, --min-sqnr without mixed); an unknown --keep-float name is
     reported, not ignored.

    e2e_quant.py QKC SOURCE_DIR WORK_DIR [-v]"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
X, Y = os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy")
CALIB = os.path.join(MODELS, "digits_calib_x.npy")
ONNX = {"mlp": os.path.join(MODELS, "mlp.onnx"), "cnn": os.path.join(MODELS, "cnn.onnx")}
ORT = os.path.join(MODELS, "quantized", "ort_results.json")
QUANT_OPS = ("QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "QLinearAdd",
             "QLinearGlobalAveragePool", "QGemm")
TIMEOUT_SLOW = 240  # mixed precision compiles many trials (and runs under ASan too)

suite = Suite("e2e_quant")
os.makedirs(os.path.join(WORK, "out"), exist_ok=True)


def path(*p):
    return os.path.join(WORK, *p)


# ---- artifacts, each compiled and run once -----------------------------------------

_built, _outs = {}, {}


def build(key, model, *opts, timeout=TIMEOUT):
    """qkc compile MODEL -o WORK/key.so OPTS, once."""
    if key not in _built:
        so = path(key + ".so")
        if os.path.exists(so):
            os.remove(so)
        r = ok([QKC, "compile", model, "-o", so] + list(opts), timeout=timeout)
        _built[key] = (so, r)
    return _built[key][0]


def run_on(key, data, name="logits"):
    """`qkc run` of artifact `key` on DATA: the output array, once."""
    k = (key, data)
    if k not in _outs:
        d = path("out", key + "-" + os.path.basename(data).replace(".npy", ""))
        f = os.path.join(d, name + ".npy")
        if os.path.exists(f):
            os.remove(f)
        ok([QKC, "run", _built[key][0], "-i", data, "-d", d])
        out = load_npy(f)
        expect(out.dtype == np.float32, "%s: %s.npy is %s, not float32" % (key, name, out.dtype))
        _outs[k] = out
    return _outs[k]


def variants(m):
    """fp32, fp16, bf16, int8 (default options, --calib) and int8-dynamic of bundled model m."""
    build(m + "-fp32", ONNX[m])
    build(m + "-fp16", ONNX[m], "--precision", "fp16")
    build(m + "-bf16", ONNX[m], "--precision", "bf16")
    build(m + "-int8", ONNX[m], "--precision", "int8", "--calib", CALIB)
    build(m + "-int8-dynamic", ONNX[m], "--precision", "int8-dynamic")
    return {p: run_on(m + "-" + p, X) for p in ("fp32", "fp16", "bf16", "int8", "int8-dynamic")}


# ---- metrics, in numpy -------------------------------------------------------------------

def accuracy(logits, labels):
    return float(np.mean(logits.argmax(1) == labels))


def agreement(a, b):
    return float(np.mean(a.argmax(1) == b.argmax(1)))


def sqnr_db(out, ref):
    """10 log10(sum ref^2 / sum (out - ref)^2), in float64; inf when equal."""
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    noise = float(np.sum((out - ref) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / noise)


def rel_err_per_sample(out, ref):
    """max_j |out - ref| / max_j |ref| for each sample (row)."""
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    return np.abs(out - ref).max(1) / np.abs(ref).max(1)


# ---- 1. accuracy, agreement, fp16 error; qkc eval --------------------------------------------

def check_accuracy(m):
    y = load_npy(Y)
    o = variants(m)
    a32, a16, a8 = (accuracy(o[p], y) for p in ("fp32", "fp16", "int8"))
    with open(ORT) as f:
        ort32 = json.load(f)["fp32"][m]["accuracy"]
    # fp32 itself against ONNX Runtime's fp32 accuracy (one image is 0.28 points)
    expect(abs(a32 - ort32) <= 0.003, "%s fp32 accuracy %.2f%%, ONNX Runtime's %.2f%%" % (m, 100 * a32, 100 * ort32))
    expect(abs(a8 - a32) <= 0.0025, "%s int8 accuracy %.2f%% is not within 0.25 points of fp32's %.2f%%" % (
        m, 100 * a8, 100 * a32))
    ag8 = agreement(o["int8"], o["fp32"])
    bad = np.nonzero(o["int8"].argmax(1) != o["fp32"].argmax(1))[0]
    expect(ag8 >= 0.995, "%s int8 top-1 agreement with fp32 %.2f%% < 99.5%% (samples %s)" % (m, 100 * ag8, bad[:20]))
    ag16 = agreement(o["fp16"], o["fp32"])
    bad = np.nonzero(o["fp16"].argmax(1) != o["fp32"].argmax(1))[0]
    expect(ag16 == 1.0, "%s fp16 top-1 agreement with fp32 %.2f%%, not 100%% (samples %s)" % (m, 100 * ag16, bad[:20]))
    rel = rel_err_per_sample(o["fp16"], o["fp32"])
    worst = int(rel.argmax())
    expect(rel[worst] <= 1e-2, "%s fp16: max_j|fp16-fp32|/max_j|fp32| = %.3g > 1e-2 at sample %d:\nfp16 %s\nfp32 %s" % (
        m, rel[worst], worst, o["fp16"][worst], o["fp32"][worst]))
    agb = agreement(o["bf16"], o["fp32"])
    bad = np.nonzero(o["bf16"].argmax(1) != o["fp32"].argmax(1))[0]
    expect(agb >= 0.995, "%s bf16 top-1 agreement with fp32 %.2f%% < 99.5%% (samples %s)" % (m, 100 * agb, bad[:20]))
    relb = rel_err_per_sample(o["bf16"], o["fp32"])
    worst = int(relb.argmax())
    expect(relb[worst] <= 4e-2, "%s bf16: max_j|bf16-fp32|/max_j|fp32| = %.3g > 4e-2 at sample %d:\nbf16 %s\nfp32 %s" % (
        m, relb[worst], worst, o["bf16"][worst], o["fp32"][worst]))
    return "fp32 %.2f%%, fp16 %.2f%%, int8 %.2f%%; int8 agreement %.2f%%, fp16 max rel err %.2g, bf16 %.2g" % (
        100 * a32, 100 * a16, 100 * a8, 100 * ag8, rel.max(), relb.max())


for _m in ("mlp", "cnn"):
    suite.check("%s: int8 within 0.25 points of fp32, agreement >= 99.5%%; fp16 agreement 100%%, rel err <= 1e-2; "
                "bf16 agreement >= 99.5%%, rel err <= 4e-2" % _m, check_accuracy, _m)


def check_eval_json(m):
    y = load_npy(Y)
    o = variants(m)
    j = path("eval-%s.json" % m)
    ok([QKC, "eval", ONNX[m], "--data", X, "--labels", Y, "--calib", CALIB, "--json", j], timeout=TIMEOUT_SLOW)
    with open(j) as f:
        ev = json.load(f)
    expect(ev.get("samples") == len(y), "eval: samples %r, want %d" % (ev.get("samples"), len(y)))
    rows = {v["precision"]: v for v in ev["variants"]}
    expect(set(rows) == {"fp32", "fp16", "bf16", "int8", "int8-dynamic"}, "eval: variants %s" % sorted(rows))
    for p in ("fp32", "fp16", "bf16", "int8", "int8-dynamic"):
        v = rows[p]
        mine = {"accuracy": 100 * accuracy(o[p], y), "agreement": 100 * agreement(o[p], o["fp32"])}
        for k, want in mine.items():
            expect(abs(v[k] - want) < 0.001, "eval %s %s: %r, computed from qkc run: %.4f" % (p, k, v[k], want))
        s = sqnr_db(o[p], o["fp32"])
        if np.isinf(s):
            expect(v["sqnr_db"] >= 999, "eval %s sqnr_db %r, but the outputs equal fp32's" % (p, v["sqnr_db"]))
        else:
            expect(abs(v["sqnr_db"] - s) < 0.01, "eval %s sqnr_db %r, computed: %.3f" % (p, v["sqnr_db"], s))
        e = float(np.abs(o[p].astype(np.float64) - o["fp32"]).max())
        expect(abs(v["max_abs_err"] - e) <= 1e-5 * max(e, 1e-3), "eval %s max_abs_err %r, computed %.6g" % (
            p, v["max_abs_err"], e))
    _eval[m] = ev
    return "eval agrees: int8 %.2f%% / %.2f%% / %.2f dB" % (rows["int8"]["accuracy"], rows["int8"]["agreement"],
                                                              rows["int8"]["sqnr_db"])


_eval = {}
for _m in ("mlp", "cnn"):
    suite.check("%s: qkc eval --json reports the numbers computed from qkc run" % _m, check_eval_json, _m)


def weight_layers(model):
    """Names of the nodes of `model` that have weights (Conv, Gemm, MatMul)."""
    return [n.name for n in onnx.load(model).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]


def check_eval_layers(m):
    """Default int8 weights are per-channel (compile --help): the per-layer
    table must say so for every layer with weights, the last one included."""
    ev = _eval.get(m)
    if ev is None:
        raise Failure("no qkc eval JSON (see the check above)")
    table = {L["layer"]: L for L in ev["layers"]}
    wrong = ["%s (%s): '%s'" % (n, table[n]["op"], table[n]["scheme"]) if n in table else "%s: missing" % n
             for n in weight_layers(ONNX[m]) if n not in table or "per-channel" not in table[n]["scheme"]]
    expect(not wrong, "qkc eval's int8 layer table, default options (per-channel weights):\n  " + "\n  ".join(wrong))
    return ", ".join("%s %s" % (L["layer"], L["scheme"]) for L in ev["layers"])


for _m in ("mlp", "cnn"):
    suite.check("%s: qkc eval's layer table calls every weight layer per-channel" % _m, check_eval_layers, _m)


MASK_MODEL = """<ir_version: 8, opset_import: ["" : 13]>
mask (float[N,8] x, float[N,8] m) => (float[N,8] y)
<float one = {1}, float big = {-3.4028235e38}>
{
  d = Sub(one, m)
  e = Mul(d, big)
  s = Add(x, e)
  y = Softmax(s)
}
"""


def check_half_mask():
    """BERT's attention mask, (1 - m) * -3.4028235e38 added to the scores:
    as fp16 (saturated to -65504) and bf16 (which would round it to -inf,
    and 0 * -inf is NaN) every probability is finite and within 2e-2 of
    numpy's fp32 softmax, the masked ones 0."""
    src = path("mask.onnxtxt")
    with open(src, "w") as f:
        f.write(MASK_MODEL)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    m = (rng.random((4, 8)) < 0.6).astype(np.float32)
    m[:, 0] = 1
    np.save(path("mask-x.npy"), x)
    np.save(path("mask-m.npy"), m)
    z = np.where(m > 0, x.astype(np.float64), -np.inf)
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    for prec in ("fp16", "bf16"):
        so = path("mask-%s.so" % prec)
        ok([QKC, "compile", src, "-o", so, "--precision", prec])
        d = path("out", "mask-%s" % prec)
        ok([QKC, "run", so, "-i", "x=" + path("mask-x.npy"), "-i", "m=" + path("mask-m.npy"), "-d", d])
        y = load_npy(os.path.join(d, "y.npy"))
        expect(np.all(np.isfinite(y)), "%s: non-finite probabilities %s" % (prec, y))
        err = float(np.abs(y - want).max())
        expect(err <= 2e-2, "%s: max |y - softmax| = %.3g > 2e-2" % (prec, err))
    return "fp16 and bf16 finite, within 2e-2 of numpy"


suite.check("fp16/bf16: a BERT-style -3.4e38 attention mask stays finite", check_half_mask)


# ---- 2. bias correction ---------------------------------------------------------------------

def check_bias_correction(m):
    o = variants(m)
    build(m + "-int8-nobc", ONNX[m], "--precision", "int8", "--calib", CALIB, "--no-bias-correction")
    nobc = run_on(m + "-int8-nobc", X)
    s_bc, s_nobc = sqnr_db(o["int8"], o["fp32"]), sqnr_db(nobc, o["fp32"])
    expect(s_bc >= s_nobc, "%s: int8 SQNR %.2f dB with bias correction < %.2f dB without" % (m, s_bc, s_nobc))
    return "%.2f dB with, %.2f dB without" % (s_bc, s_nobc)


for _m in ("mlp", "cnn"):
    suite.check("%s: bias correction does not lower the int8 SQNR" % _m, check_bias_correction, _m)


def check_bias_correction_every_layer():
    """x[N,16] -> Gemm A (identity: exact in int8) -> Gemm B, whose weights
    all lose 0.4 LSB when rounded (w = (k + 0.4)/127 * max). Uncorrected, B's
    output is shifted by -0.4/127 * sum_k E[x_k]; corrected, the mean error
    over the calibration data is ~0. The same B alone (first layer) too."""
    K, M = 16, 8
    rng = np.random.RandomState(3)
    B = np.zeros((M, K), np.float32)
    B[:, 0] = 1.0
    B[:, 1:] = (rng.randint(5, 120, (M, K - 1)) + 0.4) / 127
    x = rng.uniform(0, 1, (256, K)).astype(np.float32)
    xf = path("bc-x.npy")
    np.save(xf, x)
    ref = x.astype(np.float64) @ B.T.astype(np.float64)  # A is the identity, biases 0

    def model(two):
        inits = [const("B", B), const("bB", np.zeros(M, np.float32))]
        nodes, src = [], "x"
        if two:
            inits += [const("A", np.eye(K, dtype=np.float32)), const("bA", np.zeros(K, np.float32))]
            nodes.append(helper.make_node("Gemm", ["x", "A", "bA"], ["h"], transB=1, name="gemmA"))
            src = "h"
        nodes.append(helper.make_node("Gemm", [src, "B", "bB"], ["y"], transB=1, name="gemmB"))
        return save(make_model(nodes, [tensor_info("x", TensorProto.FLOAT, ["N", K])],
                               [tensor_info("y", TensorProto.FLOAT, ["N", M])], inits),
                    path("bc-%s.onnx" % ("two" if two else "one")))

    res = {}
    for two in (False, True):
        mp = model(two)
        for bc in (True, False):
            key = "bc-%s-%s" % ("two" if two else "one", "bc" if bc else "nobc")
            build(key, mp, "--precision", "int8", "--calib", xf, *([] if bc else ["--no-bias-correction"]))
            out = run_on(key, xf, name="y").astype(np.float64)
            res[key] = float(np.abs((out - ref).mean(0)).max())
    msgs = []
    for tag, where in (("one", "as the first layer"), ("two", "after another quantized Gemm")):
        with_bc, without = res["bc-%s-bc" % tag], res["bc-%s-nobc" % tag]
        expect(without > 0.01, "the test model has no rounding bias to correct (%s: %.3g)" % (tag, without))
        if with_bc > 0.1 * without:
            msgs.append("%s: max_m |mean(int8 - fp32)| = %.4f with bias correction, %.4f without" % (
                where, with_bc, without))
    expect(not msgs, "bias correction leaves the mean error of rounded weights in place:\n  " + "\n  ".join(msgs))
    return ", ".join("%s %.2g" % kv for kv in sorted(res.items()))


suite.check("bias correction removes the weights' mean rounding error in every layer",
            check_bias_correction_every_layer)


# ---- 3. calibration profiles: shards, merge orders, directories ------------------------------------

def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def check_calibration_merge():
    x = load_npy(CALIB)
    cuts = [0, 37, 150, len(x)]  # unequal shards
    shard_dir = path("calib-shards")
    os.makedirs(shard_dir, exist_ok=True)
    profs = []
    for i, name in enumerate("abc"):
        f = os.path.join(shard_dir, name + ".npy")
        np.save(f, x[cuts[i]:cuts[i + 1]])
        p = path("shard-%s.qprofile" % name)
        ok([QKC, "calibrate", ONNX["cnn"], "--calib", f, "-o", p])
        profs.append(p)
    m1, m2, full, fromdir = (path(n + ".qprofile") for n in ("merged-abc", "merged-cab", "full", "dir"))
    ok([QKC, "calibrate", "--merge", profs[0], profs[1], profs[2], "-o", m1])
    ok([QKC, "calibrate", "--merge", profs[2], profs[0], profs[1], "-o", m2])
    ok([QKC, "calibrate", ONNX["cnn"], "--calib", CALIB, "-o", full])
    ok([QKC, "calibrate", ONNX["cnn"], "--calib", shard_dir, "-o", fromdir])
    b = {n: read_bytes(p) for n, p in (("merge a,b,c", m1), ("merge c,a,b", m2), ("all data", full),
                                        ("directory of shards", fromdir))}
    for n, data in b.items():
        expect(data == b["all data"], "the profile from %s differs from the one from all the data at once "
               "(%d vs %d bytes)" % (n, len(data), len(b["all data"])))
    with open(m1) as f:
        prof = json.load(f)
    expect(prof.get("samples") == len(x), "merged profile: samples %r, want %d" % (prof.get("samples"), len(x)))
    # the artifact from the merged profile equals the one from the data
    variants("cnn")
    build("cnn-int8-merged", ONNX["cnn"], "--precision", "int8", "--profile", m1)
    a, c = run_on("cnn-int8-merged", X), run_on("cnn-int8", X)
    diff = np.nonzero(a.view(np.uint32) != c.view(np.uint32))
    expect(len(diff[0]) == 0, "--profile merged vs --calib: %d logits differ, first at %s: %r vs %r" % (
        len(diff[0]), diff[0][:1], a[diff][:1], c[diff][:1]))
    return "4 profiles of %d bytes identical" % len(b["all data"])


suite.check("calibrate: 3 shards merged in 2 orders == all data == directory; --profile == --calib",
            check_calibration_merge)


def check_calibration_engines():
    """The compiled calibration engine (the default) and the interpreter
    (--calib-engine interp) on both models: the same tensors with the same
    counts and ranges within 1e-5 relative; the compiled profile identical
    for 1 and 2 threads; the int8 artifacts from the two profiles equally
    accurate on the test set (within 0.1 points, labels)."""
    y = load_npy(Y)
    notes = []
    for m in ("mlp", "cnn"):
        profs = {}
        for tag, opts in (("interp", ["--calib-engine", "interp"]), ("t1", ["--calib-threads", "1"]),
                          ("t2", ["--calib-threads", "2"])):
            profs[tag] = path("%s-engine-%s.qprofile" % (m, tag))
            r = ok([QKC, "calibrate", ONNX[m], "--calib", CALIB, "-o", profs[tag]] + opts)
            expect("warning" not in r.err, "qkc calibrate %s: a warning (did the compiled engine fall back to "
                   "the interpreter?)" % " ".join(opts), r)
        expect(read_bytes(profs["t1"]) == read_bytes(profs["t2"]),
               "%s: the compiled engine's profiles of 1 and 2 threads differ" % m)
        with open(profs["t1"]) as f:
            tc = json.load(f)["tensors"]
        with open(profs["interp"]) as f:
            ti = json.load(f)["tensors"]
        expect(set(tc) == set(ti), "%s: the engines' profiles name different tensors: %s" % (
            m, sorted(set(tc) ^ set(ti))[:5]))
        worst = 0.0
        for k in tc:
            expect(tc[k]["count"] == ti[k]["count"], "%s: tensor %s: count %d (compiled) vs %d (interp)" % (
                m, k, tc[k]["count"], ti[k]["count"]))
            span = max(abs(ti[k]["min"]), abs(ti[k]["max"]), 1e-30)
            worst = max(worst, abs(tc[k]["min"] - ti[k]["min"]) / span, abs(tc[k]["max"] - ti[k]["max"]) / span)
        expect(worst <= 1e-5, "%s: a range of the compiled engine differs from the interpreter's by %.1e relative" % (
            m, worst))
        acc = {}
        for tag in ("interp", "t1"):
            build("%s-int8-%s" % (m, tag), ONNX[m], "--precision", "int8", "--profile", profs[tag])
            acc[tag] = accuracy(run_on("%s-int8-%s" % (m, tag), X), y)
        expect(abs(acc["interp"] - acc["t1"]) <= 0.001, "%s: int8 accuracy %.2f%% from the compiled profile, %.2f%% "
               "from the interpreter's" % (m, 100 * acc["t1"], 100 * acc["interp"]))
        notes.append("%s: ranges within %.0e, int8 %.2f%% / %.2f%%" % (m, worst, 100 * acc["t1"],
                                                                      100 * acc["interp"]))
    return "; ".join(notes)


suite.check("calibrate: the compiled engine agrees with the interpreter; threads do not change the profile",
            check_calibration_engines)


# ---- 4. mixed precision -------------------------------------------------------------------------

MIN_SQNR = 45.0


def node_names(model, *opts):
    """{node name: op} of `qkc inspect MODEL OPTS --print-after plan` (or of the
    import dump without options)."""
    args = [QKC, "inspect", model] + list(opts)
    if opts:
        args += ["--print-after", "plan"]
    r = ok(args)
    text = r.out.split("# after plan")[-1] if opts else r.out
    names = {}
    for out, op, name in re.findall(r"^\s+%(\S+): \S+ = (\w+)\(.*?# '([^']*)'", text, re.M):
        names.setdefault(name, op)
    expect(names, "no nodes found in the inspect output", r)
    return names


def check_mixed():
    variants("cnn")
    fp32_c, int8_c = run_on("cnn-fp32", CALIB), run_on("cnn-int8", CALIB)
    s8 = sqnr_db(int8_c, fp32_c)
    expect(s8 < MIN_SQNR, "precondition: plain int8 already has %.2f dB >= %.0f dB on the calibration data, so "
           "--min-sqnr %.0f keeps nothing in float: raise MIN_SQNR" % (s8, MIN_SQNR, MIN_SQNR))
    rep = path("mixed-report.json")
    build("cnn-mixed", ONNX["cnn"], "--precision", "mixed", "--min-sqnr", str(MIN_SQNR), "--calib", CALIB,
          "--report", rep, timeout=TIMEOUT_SLOW)
    r = _built["cnn-mixed"][1]
    m = re.search(r"(\d+) of (\d+) layers kept in float: ([^;\n]+)", r.err)
    expect(m is not None, "qkc compile --precision mixed does not say which layers it kept in float", r)
    kept = [k.strip() for k in m.group(3).split(",")]
    expect(len(kept) == int(m.group(1)) >= 1, "kept %s, count %s" % (kept, m.group(1)), r)
    model_nodes = node_names(ONNX["cnn"])
    unknown = [k for k in kept if k not in model_nodes]
    expect(not unknown, "kept layers %s are not nodes of the model (nodes: %s)" % (unknown, sorted(model_nodes)), r)
    out = run_on("cnn-mixed", CALIB)
    s = sqnr_db(out, fp32_c)
    expect(s >= MIN_SQNR, "mixed artifact: output SQNR %.2f dB on the calibration data < the floor %.0f dB "
           "(kept in float: %s)" % (s, MIN_SQNR, kept), r)
    with open(rep) as f:
        report = json.load(f)
    expect(sorted(report.get("kept_float", [])) == sorted(kept), "report kept_float %r, compile said %r" % (
        report.get("kept_float"), kept))
    # the reference interpreter with the same layers kept in float: the same
    # predictions and logits within one quantization step. Not bit for bit: a
    # float layer's last-ulp rounding (the artifact's fp32 kernels, the
    # interpreter's) can move a value feeding an int8 layer across a rounding
    # boundary; the integer layers themselves agree bit for bit (section 1
    # and e2e_quant_targets).
    d = path("out", "interp-mixed")
    ok([QKC, "interp", ONNX["cnn"], "-i", CALIB, "-d", d, "--precision", "int8", "--calib", CALIB,
        "--keep-float", ",".join(kept)], timeout=TIMEOUT_SLOW)
    ref = load_npy(os.path.join(d, "logits.npy"))
    err = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    expect(agreement(out, ref) == 1.0 and err <= 1e-2, "mixed artifact vs qkc interp --keep-float %s: top-1 "
           "agreement %.2f%%, max error %.1e of the largest logit" % (",".join(kept), 100 * agreement(out, ref), err))
    return "int8 %.2f dB; mixed keeps %s: %.2f dB" % (s8, ", ".join(kept), s)


suite.check("mixed --min-sqnr %.0f: keeps layers in float, output SQNR >= %.0f dB on the calibration data" % (
    MIN_SQNR, MIN_SQNR), check_mixed)


# ---- 5. --report --------------------------------------------------------------------------------

def folded_weight_scales():
    """Per-channel max|w_c| / 127 of the CNN's weights after BatchNormalization
    folding (w * gamma / sqrt(var + eps)), per layer name, in float64."""
    m = onnx.load(ONNX["cnn"])
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    out = {}
    bn_after = {}
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            bn_after[n.input[0]] = n
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        w = init[n.input[1]]
        if n.op_type == "MatMul":
            w = w.T
        bn = bn_after.get(n.output[0])
        if bn is not None:
            eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
            w = w * (init[bn.input[1]] / np.sqrt(init[bn.input[4]] + eps)).reshape((-1,) + (1,) * (w.ndim - 1))
        amax = np.abs(w.reshape(w.shape[0], -1)).max(1)
        out[n.name] = amax / 127
    return out


def check_report():
    p = path("cnn-report.json")
    build("cnn-int8-report", ONNX["cnn"], "--precision", "int8", "--calib", CALIB, "--report", p)
    with open(p) as f:
        try:
            rep = json.load(f)
        except ValueError as e:
            raise Failure("--report %s is not valid JSON: %s" % (p, e))
    expect(rep.get("precision") == "int8", "report precision %r" % rep.get("precision"))
    layers = rep.get("layers")
    expect(isinstance(layers, list) and layers, "report has no layers")
    names = [L.get("name") for L in layers]
    expect(len(set(names)) == len(names), "report names a layer twice: %s" % names)
    plan = node_names(ONNX["cnn"], "--precision", "int8", "--calib", CALIB)
    quantized = {n: op for n, op in plan.items() if op in QUANT_OPS}
    expect(set(names) == set(quantized), "report layers %s, quantized nodes of the plan %s" % (
        sorted(names), sorted(quantized)))
    for L in layers:
        expect(L.get("op") == quantized[L["name"]], "report: %s is %s, the plan has %s" % (
            L["name"], L.get("op"), quantized[L["name"]]))
    model_nodes = node_names(ONNX["cnn"])
    expect(all(n in model_nodes for n in names), "report names %s that are not nodes of the model" % (
        [n for n in names if n not in model_nodes]))
    # the first layer's input: the calibration data's range, u8 with scale 1/255
    x = load_npy(CALIB)
    first = next(L for L in layers if L["name"] == "/conv1/Conv")
    inp = first.get("input", {})
    expect(inp.get("range") == [float(x.min()), float(x.max())], "report: the input's range %r, the "
           "calibration data's [%g, %g]" % (inp.get("range"), x.min(), x.max()))
    expect(inp.get("type") == "u8" and inp.get("zero_point") == 0 and
           np.float32(inp.get("scale", 0)) == np.float32(1) / np.float32(255),
           "report: input quantized as %r, want u8 scale 1/255 zero point 0 for data in [0, 1]" % inp)
    _report["cnn"] = layers
    return "%d layers: %s" % (len(names), ", ".join(names))


_report = {}
suite.check("--report: one entry per quantized layer of the plan, names, input range", check_report)


def check_report_weights():
    """Weight scales: per-channel symmetric, max|w_c|/127 of the folded weights."""
    layers = _report.get("cnn")
    if layers is None:
        raise Failure("no report (see the check above)")
    want = folded_weight_scales()
    problems = []
    for name, s in want.items():
        L = next((L for L in layers if L["name"] == name), None)
        w = (L or {}).get("weights")
        if not w:
            problems.append("%s: no weights entry" % name)
            continue
        lo, hi = w.get("scales", [0, 0])
        if w.get("scheme") != "per-channel" or abs(lo / s.min() - 1) > 2e-5 or abs(hi / s.max() - 1) > 2e-5:
            problems.append("%s: %s %s, want per-channel [%.6g, %.6g]" % (name, w.get("scheme"), w.get("scales"),
                                                                       s.min(), s.max()))
    expect(not problems, "report weights:\n  " + "\n  ".join(problems))
    return ", ".join("%s %s" % (L["name"], L["weights"]["scales"]) for L in layers if "weights" in L)


suite.check("--report: every weight layer has per-channel scales max|w_c|/127 (numpy, BN folded)",
            check_report_weights)


def nonnegative_tensors(model, data):
    """Tensors of the float model that cannot be negative: ReLU outputs and
    MaxPool/GlobalAveragePool/Flatten/Reshape of them (and the input when the
    calibration data is >= 0)."""
    m = onnx.load(model)
    nonneg = {m.graph.input[0].name} if float(load_npy(data).min()) >= 0 else set()
    for n in m.graph.node:  # in topological order
        if n.op_type == "Relu" or (n.op_type in ("MaxPool", "GlobalAveragePool", "Flatten", "Reshape") and
                                   n.input[0] in nonneg):
            nonneg.add(n.output[0])
    return nonneg


def check_report_relu(m):
    """docs/quantization.md: u8 activations have a zero point "so a ReLU
    output uses all 256 levels": every quantized tensor that is a ReLU output
    (or a pooling/reshape of one) has zero point 0 and a range from 0."""
    p = path("%s-report.json" % m)  # the same compile as check_report's for the CNN
    build("%s-int8-report" % m, ONNX[m], "--precision", "int8", "--calib", CALIB, "--report", p)
    with open(p) as f:
        layers = json.load(f)["layers"]
    nonneg = nonnegative_tensors(ONNX[m], CALIB)
    seen, wasted = set(), []
    for L in layers:
        for side in ("input", "output"):
            t = L.get(side)
            if not t or not t.get("tensor", "").endswith("_q") or t["tensor"][:-2] not in nonneg:
                continue
            seen.add(t["tensor"][:-2])
            if t.get("type") != "u8" or t.get("zero_point") != 0 or t.get("range", [0])[0] < 0:
                wasted.append("%s of %s: '%s' (a ReLU output, >= 0) is %s zero point %s range %s: only %d of 256 "
                              "levels hold its values" % (side, L["name"], t["tensor"][:-2], t.get("type"),
                                                          t.get("zero_point"), t.get("range"),
                                                          256 - int(t.get("zero_point", 0))))
    expect(seen, "no ReLU output found among the report's tensors")
    expect(not wasted, "%s:\n  %s" % (m, "\n  ".join(wasted)))
    return "zero point 0: " + ", ".join(sorted(seen))


for _m in ("mlp", "cnn"):
    suite.check("%s: every ReLU output is quantized with zero point 0 (all 256 levels)" % _m, check_report_relu, _m)


# ---- 6. bad quantization input ----------------------------------------------------------------------

def failing(args, rc, *patterns):
    r = run([QKC] + args)
    expect(r.rc == rc, "expected exit status %d" % rc, r)
    for pat in patterns:
        expect(re.search(pat, r.err) is not None, "stderr does not match /%s/" % pat, r)
    return r.err.strip().splitlines()[-1] if r.err.strip() else ""


def bad_inputs():
    x = load_npy(CALIB)
    np.save(path("wrong-shape.npy"), np.zeros((4, 3, 8, 8), np.float32))
    np.save(path("empty.npy"), np.zeros((0, 1, 8, 8), np.float32))
    with open(path("not-npy.npy"), "w") as f:
        f.write("this is not a numpy file\n")
    mlp_prof, cnn_prof = path("mlp.qprofile"), path("cnn-small.qprofile")
    np.save(path("calib-small.npy"), x[:20])
    if not os.path.exists(mlp_prof):
        ok([QKC, "calibrate", ONNX["mlp"], "--calib", path("calib-small.npy"), "-o", mlp_prof])
    if not os.path.exists(cnn_prof):
        ok([QKC, "calibrate", ONNX["cnn"], "--calib", path("calib-small.npy"), "-o", cnn_prof])
    with open(cnn_prof, "rb") as f:
        data = f.read()
    with open(path("truncated.qprofile"), "wb") as f:
        f.write(data[:len(data) // 3])


C = ["compile", ONNX["cnn"], "-o", os.path.join(WORK, "bad.so")]
BAD = [
    ("int8 without --calib", C + ["--precision", "int8"], 1, [r"--calib"]),
    ("--calib of the wrong shape", C + ["--precision", "int8", "--calib", path("wrong-shape.npy")], 1,
     [r"wrong-shape\.npy", r"\[4,3,8,8\]", r"\[N,1,8,8\]"]),
    ("--calib with no samples", C + ["--precision", "int8", "--calib", path("empty.npy")], 1,
     [r"empty\.npy"]),
    ("--calib not a .npy", C + ["--precision", "int8", "--calib", path("not-npy.npy")], 1,
     [r"not-npy\.npy", r"\.npy"]),
    ("--calib missing file", C + ["--precision", "int8", "--calib", path("no-such.npy")], 1, [r"no-such\.npy"]),
    ("--profile of another model", C + ["--precision", "int8", "--profile", path("mlp.qprofile")], 1,
     [r"mlp\.qprofile", r"another model"]),
    ("truncated --profile", C + ["--precision", "int8", "--profile", path("truncated.qprofile")], 1,
     [r"truncated\.qprofile:\d+:\d+"]),
    ("calibrate --merge of two models", ["calibrate", "--merge", path("cnn-small.qprofile"), path("mlp.qprofile"),
                                         "-o", path("bad.qprofile")], 1, [r"mlp\.qprofile|cnn-small\.qprofile"]),
    ("--calib-method bogus", C + ["--precision", "int8", "--calib", CALIB, "--calib-method", "bogus"], 2,
     [r"--calib-method", r"bogus"]),
    ("--min-sqnr without mixed", C + ["--precision", "int8", "--calib", CALIB, "--min-sqnr", "30"], 2,
     [r"--min-sqnr", r"mixed"]),
    ("--calib-engine bogus", C + ["--precision", "int8", "--calib", CALIB, "--calib-engine", "bogus"], 2,
     [r"--calib-engine", r"bogus"]),
    ("--calib-threads 0", ["calibrate", ONNX["cnn"], "--calib", CALIB, "--calib-threads", "0", "-o",
                           path("bad.qprofile")], 2, [r"--calib-threads"]),
]


def check_bad(args, rc, patterns):
    if not os.path.exists(path("truncated.qprofile")):
        bad_inputs()
    return failing(args, rc, *patterns)


for _name, _args, _rc, _pats in BAD:
    suite.check("bad input: %s -> exit %d" % (_name, _rc), check_bad, _args, _rc, _pats)


def check_keep_float_unknown():
    """A --keep-float name that is no node and no op type is a typo: it must be
    reported (warning or error), not silently ignored."""
    if not os.path.exists(path("truncated.qprofile")):
        bad_inputs()
    r = run([QKC] + C + ["--precision", "int8", "--calib", path("calib-small.npy"),
                         "--keep-float", "/conv9/NoSuchNode"])
    expect(r.rc in (0, 1, 2), "exit status %d" % r.rc, r)
    expect("/conv9/NoSuchNode" in r.err, "qkc compile --keep-float /conv9/NoSuchNode: the unknown name is not "
           "reported (exit %d, nothing on stderr about it)" % r.rc, r)


suite.check("bad input: --keep-float with an unknown node name is reported", check_keep_float_unknown)

suite.finish()
