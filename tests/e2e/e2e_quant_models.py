#!/usr/bin/python3
"""e2e_quant_models.py -- pre-quantized models (models/quantized/, made by
ONNX Runtime and PyTorch) and --io int8, against independent oracles.

  1. Every models/quantized/*.onnx compiles with the default (fp32)
     precision -- it is quantized already -- and its output equals `qkc
     interp --lowered` bit for bit (on the first 120 test images: the
     interpreter is slow under ASan); its accuracy on the 360 (labels)
     is within 0.3 points of the "accuracy" that ort_results.json records
     for it under "quantized" (ONNX Runtime's test accuracy on this data).
  2. An exact oracle of ONNX QDQ semantics, written here in numpy from the
     ONNX graph (onnx 1.12's Python API): integer tensors stay integers,
     DequantizeLinear is exact, the float ops between DequantizeLinear and
     QuantizeLinear run in float64 (Conv, Gemm, MatMul, Add, Relu,
     MaxPool, GlobalAveragePool, BatchNormalization, Flatten, Reshape,
     Cast, Constant, ConstantOfShape), QuantizeLinear rounds half to even
     and saturates; a QuantizeLinear of a float32 graph tensor (the model
     input) divides in float32 as ONNX does, and the output DequantizeLinear
     is float32 as in ONNX. A result within 1e-6 (relative) of a rounding tie
     is counted as a tie: the float64 oracle and a correct float32
     implementation may round it either way. qkc's logits must equal the
     oracle's bit for bit in every sample whose computation met no tie, and
     within 1 output LSB elsewhere; ties must be < 0.1% of all rounded
     values. This is checked on cnn_qdq_s8_fullrange (weights holding -128,
     where ONNX Runtime's own integer kernels may saturate) and on every
     other QDQ model; each QOperator model is held to the oracle of its QDQ
     twin (same quantization settings). cnn_qat also stays within 1 LSB of
     PyTorch's own int8 logits (cnn_qat_torch_logits.npy). Three QDQ models
     made here hold the same: u8 255 x int8 -128 products over K = 1024 and
     576 (int16 pair sums would saturate, |acc| > 2^24), and exact ties
     (power-of-two scales, no tie tolerance: round half to even), compiled
     for each x86-64 CPU level the host runs and run by the interpreter.
  3. --io int8: the artifact's input and output are u8 with a scale and zero
     point, the same in `qkc inspect --print-after plan` and in the C header
     of --emit obj --header. The float test input quantized here in numpy
     (round half to even of x/scale in float32, + zero point, saturate), run,
     and dequantized, is within scale_out/2 of the float-io int8 artifact of
     the same options (except where the u8 output saturates, where it must
     be on the right side), with argmax agreement >= 99%. A float .npy given
     to an int8-io artifact fails (exit 1) naming the scale and zero point;
     --io int8 on a float model without --precision int8 fails (exit 1,
     saying so). Pre-quantized models compile with --io int8 alone to an
     u8/i8-io artifact whose dequantized output equals the float-io
     artifact's bit for bit. With the first (last) layer kept in float, the
     input (output) stays float with a warning, the other side quantized.

    e2e_quant_models.py QKC SOURCE_DIR WORK_DIR [-v]"""
import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
QDIR = os.path.join(MODELS, "quantized")
X, Y = os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy")
CALIB = os.path.join(MODELS, "digits_calib_x.npy")
ONNX = {"mlp": os.path.join(MODELS, "mlp.onnx"), "cnn": os.path.join(MODELS, "cnn.onnx")}
FIXTURES = sorted(os.path.basename(f)[:-5] for f in glob.glob(os.path.join(QDIR, "*.onnx")))
# QOperator models and the QDQ model made with the same settings (a u8/s8
# zero-point shift of 128 gives the same grid, see models/quantized/README.md)
QOP_TWIN = {"cnn_qop_s8_pc": "cnn_qdq_s8_pc", "cnn_qop_u8_pt": "cnn_qdq_s8_pt",
            "mlp_qop_s8_pc": "mlp_qdq_s8_pc", "mlp_qop_u8_pt": "mlp_qdq_s8_pt"}
TIE_REL = 1e-6
N_INTERP = 120  # test images run by `qkc interp --lowered` for each fixture

suite = Suite("e2e_quant_models")
os.makedirs(os.path.join(WORK, "out"), exist_ok=True)


def path(*p):
    return os.path.join(WORK, *p)


def fixture(name):
    return os.path.join(QDIR, name + ".onnx")


def outputs(cmd, d, name="logits"):
    f = os.path.join(d, name + ".npy")
    if os.path.exists(f):
        os.remove(f)
    ok(cmd + ["-d", d])
    return load_npy(f)


_compiled = {}


def compiled_logits(name):
    """The fixture compiled with default options, run on the test set (once)."""
    if name not in _compiled:
        so = path(name + ".so")
        ok([QKC, "compile", fixture(name), "-o", so])
        _compiled[name] = outputs([QKC, "run", so, "-i", X], path("out", name))
    return _compiled[name]


# ---- the oracle -----------------------------------------------------------------------------------

def np_dtype(onnx_type):
    if hasattr(helper, "tensor_dtype_to_np_dtype"):
        return helper.tensor_dtype_to_np_dtype(onnx_type)
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]


class QdqOracle:
    """ONNX QDQ semantics in numpy, exact up to float64 rounding (far below
    the tie window). Integer tensors stay integer arrays; float tensors of the
    graph (the input) stay float32; everything computed from dequantized
    values is float64."""

    def __init__(self, model_path, tie_rel=TIE_REL):
        self.tie_rel = tie_rel  # None: every value is computed exactly, no rounding is ambiguous
        self.m = onnx.load(model_path)
        self.out_name = self.m.graph.output[0].name
        unknown = sorted({n.op_type for n in self.m.graph.node if not hasattr(self, "op_" + n.op_type)})
        if unknown or any(n.domain not in ("", "ai.onnx") for n in self.m.graph.node):
            raise Failure("%s: the oracle has no %s" % (model_path, unknown or "non-ai.onnx domain"))

    def run(self, x):
        g = self.m.graph
        env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        env[g.input[0].name] = x
        self.tie_rows = np.zeros(x.shape[0], bool)
        self.ties = self.rounded = self.exact_ties = 0
        self.out_scale = self.out_zp = None
        for node in g.node:
            ins = [env[i] if i else None for i in node.input]
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            for name, v in zip(node.output, getattr(self, "op_" + node.op_type)(node, ins, attrs)):
                env[name] = v
        return env[self.out_name]

    @staticmethod
    def per_axis(t, x, axis):
        shape = [1] * x.ndim
        shape[axis % x.ndim] = t.size
        return t.reshape(shape)

    def op_Constant(self, node, ins, a):
        return [numpy_helper.to_array(a["value"])]

    def op_ConstantOfShape(self, node, ins, a):
        v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return [np.full(tuple(int(d) for d in ins[0]), v.reshape(-1)[0], dtype=v.dtype)]

    def op_Cast(self, node, ins, a):
        return [ins[0].astype(np_dtype(a["to"]))]

    def op_Identity(self, node, ins, a):
        return [ins[0]]

    def op_DequantizeLinear(self, node, ins, a):
        q, s = ins[0], ins[1]
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), q.dtype)
        if s.size == 1:  # per tensor (also a [1]-shaped scale without an axis)
            s, zp = s.reshape(()), zp.reshape(())
        else:
            axis = a.get("axis", 1)
            s, zp = self.per_axis(s, q, axis), self.per_axis(zp, q, axis)
        d = q.astype(np.int64) - zp.astype(np.int64)
        if node.output[0] == self.out_name:  # the graph output: float32, as ONNX computes it
            self.out_scale, self.out_zp = float(s), int(zp)
            return [d.astype(np.float32) * s.astype(np.float32)]
        return [d * s.astype(np.float64)]  # exact: a small integer times a float32

    def op_QuantizeLinear(self, node, ins, a):
        x, s = ins[0], ins[1]
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), np.uint8)
        expect(s.size == 1, "%s: per-axis activation quantization is not in the oracle" % node.name)
        s, zp = s.reshape(()), zp.reshape(())
        if x.dtype == np.float32:  # a float32 tensor of the graph: ONNX divides in float32
            v = (x / s.astype(np.float32)).astype(np.float64)
        else:  # computed here in float64 from exact values: the real quotient
            v = x / s.astype(np.float64)
            self.exact_ties += int(np.sum(np.abs(v - np.floor(v)) == 0.5))
            if self.tie_rel is None:
                near = np.zeros(v.shape, bool)
            else:
                near = np.abs(v - np.floor(v) - 0.5) <= self.tie_rel * np.maximum(np.abs(v), 1.0)
            self.ties += int(near.sum())
            self.rounded += v.size
            self.tie_rows |= near.reshape(near.shape[0], -1).any(1)
        info = np.iinfo(zp.dtype)
        return [np.clip(np.rint(v) + int(zp), info.min, info.max).astype(zp.dtype)]

    def op_Relu(self, node, ins, a):
        return [np.maximum(ins[0], 0)]

    def op_Add(self, node, ins, a):
        return [ins[0].astype(np.float64) + ins[1].astype(np.float64)]

    def op_Flatten(self, node, ins, a):
        x, axis = ins[0], a.get("axis", 1)
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]

    def op_Reshape(self, node, ins, a):
        shape = [ins[0].shape[i] if d == 0 else int(d) for i, d in enumerate(ins[1])]
        return [ins[0].reshape(shape)]

    def op_Gemm(self, node, ins, a):
        A, B = ins[0].astype(np.float64), ins[1].astype(np.float64)
        A = A.T if a.get("transA", 0) else A
        B = B.T if a.get("transB", 0) else B
        y = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2 and ins[2] is not None:
            y = y + a.get("beta", 1.0) * ins[2].astype(np.float64)
        return [y]

    def op_MatMul(self, node, ins, a):
        return [ins[0].astype(np.float64) @ ins[1].astype(np.float64)]

    def op_Conv(self, node, ins, a):
        x, w = ins[0].astype(np.float64), ins[1].astype(np.float64)
        expect(a.get("group", 1) == 1 and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"),
               "%s: the oracle's Conv has group 1 and explicit pads only" % node.name)
        N, C, H, W = x.shape
        M, _, kh, kw = w.shape
        p, st, dl = a.get("pads", [0, 0, 0, 0]), a.get("strides", [1, 1]), a.get("dilations", [1, 1])
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
        Ho = (H + p[0] + p[2] - dl[0] * (kh - 1) - 1) // st[0] + 1
        Wo = (W + p[1] + p[3] - dl[1] * (kw - 1) - 1) // st[1] + 1
        cols = np.empty((N, C, kh, kw, Ho, Wo))
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xp[:, :, i * dl[0]:i * dl[0] + st[0] * Ho:st[0],
                                      j * dl[1]:j * dl[1] + st[1] * Wo:st[1]]
        y = np.einsum("nckhw,mck->nmhw", cols.reshape(N, C, kh * kw, Ho, Wo), w.reshape(M, C, kh * kw))
        if len(ins) > 2 and ins[2] is not None:
            y = y + ins[2].astype(np.float64).reshape(1, M, 1, 1)
        return [y]

    def op_MaxPool(self, node, ins, a):
        x = ins[0]
        kh, kw = a["kernel_shape"]
        st = a.get("strides", [1, 1])
        expect(not a.get("ceil_mode", 0) and not any(a.get("pads", [0])) and a.get("dilations", [1, 1]) == [1, 1],
               "%s: the oracle's MaxPool has no pads, dilations or ceil_mode" % node.name)
        N, C, H, W = x.shape
        Ho, Wo = (H - kh) // st[0] + 1, (W - kw) // st[1] + 1
        y = np.full((N, C, Ho, Wo), -np.inf)
        for i in range(kh):
            for j in range(kw):
                y = np.maximum(y, x[:, :, i:i + st[0] * Ho:st[0], j:j + st[1] * Wo:st[1]])
        return [y]

    def op_GlobalAveragePool(self, node, ins, a):
        return [ins[0].astype(np.float64).mean(axis=(2, 3), keepdims=True)]

    def op_BatchNormalization(self, node, ins, a):
        x, sc, b, mean, var = (t.astype(np.float64) for t in ins[:5])
        sh = (1, -1, 1, 1)
        return [(x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5)) * sc.reshape(sh) +
                b.reshape(sh)]


_oracle = {}


def oracle(name):
    if name not in _oracle:
        o = QdqOracle(fixture(name))
        _oracle[name] = (o.run(load_npy(X)), o)
    return _oracle[name]


def against_oracle(name, got, twin=None):
    """qkc's logits vs the QDQ oracle (of `twin` when given): bit for bit in
    samples without ties, <= 1 output LSB in samples with one."""
    ref, o = oracle(twin or name)
    expect(got.shape == ref.shape, "%s: logits %s, oracle %s" % (name, got.shape, ref.shape))
    expect(o.ties < 0.001 * o.rounded, "%s: %d of %d rounded values are within %g of a tie (>= 0.1%%)" % (
        twin or name, o.ties, o.rounded, TIE_REL))
    differ = got.view(np.uint32) != ref.view(np.uint32)
    q_got = np.rint(got.astype(np.float64) / o.out_scale)
    q_ref = np.rint(ref.astype(np.float64) / o.out_scale)
    lsb = np.abs(q_got - q_ref)
    clean = differ & ~o.tie_rows[:, None]
    if clean.any():
        i = tuple(np.argwhere(clean)[0])
        raise Failure("%s: %d logits differ from the exact QDQ oracle%s in samples with no rounding tie; first at "
                      "%s: %r vs %r (%d LSB)" % (name, int(clean.sum()), " of %s" % twin if twin else "", i,
                                                 got[i], ref[i], lsb[i]))
    expect(lsb.max() <= 1, "%s: a logit is %d LSB from the oracle in a sample with a tie" % (name, lsb.max()))
    return "%d ties in %d rounded values (%d samples); %d logits differ by 1 LSB there" % (
        o.ties, o.rounded, int(o.tie_rows.sum()), int(differ.sum()))


# ---- 1. every fixture: compiled == interp --lowered, accuracy vs ORT ------------------------------------------------

def check_fixture(name):
    with open(os.path.join(QDIR, "ort_results.json")) as f:
        ort = json.load(f)["quantized"]
    expect(name in ort, "ort_results.json has no entry for %s" % name)
    got = compiled_logits(name)
    expect(got.dtype == np.float32 and got.shape == (360, 10), "%s: logits %s %s" % (name, got.dtype, got.shape))
    # the interpreter on the first N_INTERP images (it is slow under ASan)
    xs = path("x%d.npy" % N_INTERP)
    if not os.path.exists(xs):
        np.save(xs, load_npy(X)[:N_INTERP])
    ref = outputs([QKC, "interp", fixture(name), "--lowered", "-i", xs], path("out", name + "-interp"))
    bad = np.argwhere(got[:N_INTERP].view(np.uint32) != ref.view(np.uint32))
    if len(bad):
        i = tuple(bad[0])
        raise Failure("%s: %d logits differ from qkc interp --lowered, first at %s: %r vs %r" % (
            name, len(bad), i, got[i], ref[i]))
    acc = float(np.mean(got.argmax(1) == load_npy(Y)))
    want = ort[name]["accuracy"]
    expect(abs(acc - want) <= 0.003, "%s: accuracy %.2f%%, ONNX Runtime's %.2f%% (more than 0.3 points apart)" % (
        name, 100 * acc, 100 * want))
    return "accuracy %.2f%% (ORT %.2f%%)" % (100 * acc, 100 * want)


for _f in FIXTURES:
    suite.check("%s: compiles, == interp --lowered, accuracy within 0.3 points of ORT's" % _f, check_fixture, _f)


# ---- 2. the exact QDQ oracle -------------------------------------------------------------------------------------

def check_fullrange():
    name = "cnn_qdq_s8_fullrange"
    w = [numpy_helper.to_array(t) for t in onnx.load(fixture(name)).graph.initializer if t.data_type == TensorProto.INT8
         and len(t.dims) >= 2]
    expect(w and any((t == -128).any() for t in w), "%s: no weight holds -128 (not the full-range model?)" % name)
    return against_oracle(name, compiled_logits(name))


suite.check("cnn_qdq_s8_fullrange (weights at -128) == the exact QDQ oracle", check_fullrange)

QDQ = [f for f in FIXTURES if "_qdq_" in f and f != "cnn_qdq_s8_fullrange"] + \
      [f for f in FIXTURES if f == "cnn_qat"]
for _f in QDQ:
    suite.check("%s == the exact QDQ oracle" % _f, lambda n: against_oracle(n, compiled_logits(n)), _f)
for _f, _twin in sorted(QOP_TWIN.items()):
    if _f in FIXTURES:
        suite.check("%s == the exact QDQ oracle of %s" % (_f, _twin),
                    lambda n, t: against_oracle(n, compiled_logits(n), twin=t), _f, _twin)


def check_qat_vs_torch():
    got = compiled_logits("cnn_qat")
    torch = load_npy(os.path.join(QDIR, "cnn_qat_torch_logits.npy"))
    _, o = oracle("cnn_qat")
    lsb = np.abs(np.rint((got.astype(np.float64) - torch) / o.out_scale))
    expect(lsb.max() <= 1, "cnn_qat: a logit is %d output LSBs from PyTorch's int8 logits" % lsb.max())
    return "%d of %d logits 1 LSB from PyTorch's" % (int((lsb > 0).sum()), lsb.size)


if "cnn_qat" in FIXTURES:
    suite.check("cnn_qat within 1 LSB of PyTorch's own int8 logits", check_qat_vs_torch)


# ---- synthetic QDQ models at the edges (QUANT-NOTES section 7) -------------------------------------------

def qdq_model(path_, kind):
    """QDQ models made here, each checked against the oracle:
    rails: MatMul K=1024, u8 inputs at 255 times int8 weights at -128/127
      (255*-128 pairs: int16 pair sums saturate, |acc| > 2^24), per-column
      weight scales (axis=1), int32 bias, output scale 7.77;
    conv: Conv 64x3x3 (K=576) at the same rails, per-channel (axis=0);
    ties: MatMul with power-of-two scales where acc/2 is exactly k+0.5 half
      the time: round half to even, computed exactly (no tie tolerance)."""
    rng = np.random.RandomState({"rails": 1, "conv": 2, "ties": 3}[kind])
    f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
    if kind == "conv":
        K, M = 64, 6
        w = np.zeros((M, K, 3, 3), np.int8)
        w[0], w[1] = -128, 127
        w[2] = np.where(np.arange(K * 9).reshape(K, 3, 3) % 2, -128, 127)
        w[3:] = rng.randint(-128, 128, (M - 3, K, 3, 3))
        ws, s_x, s_y, zp_y = f32(rng.uniform(0.002, 0.01, M)), f32(1 / 255), f32(7.77), np.uint8(128)
        xshape, yshape = ["N", K, 3, 3], ["N", M, 1, 1]
    else:
        K, M = (1024, 8) if kind == "rails" else (16, 8)
        if kind == "rails":
            w = rng.randint(-128, 128, (K, M)).astype(np.int8)
            w[:, 0], w[:, 1] = -128, 127
            w[:, 2] = np.where(np.arange(K) % 2, -128, 127)
            w[:, 3] = np.where(np.arange(K) % 3, -128, 0)
            ws, s_x, s_y, zp_y = f32(rng.uniform(0.002, 0.01, M)), f32(1 / 255), f32(7.77), np.uint8(128)
        else:
            w = rng.randint(-4, 5, (K, M)).astype(np.int8)
            ws, s_x, s_y, zp_y = f32(np.full(M, 2.0 ** -7)), f32(2.0 ** -8), f32(2.0 ** -14), np.uint8(128)
        xshape, yshape = ["N", K], ["N", M]
    span = 100 if kind == "ties" else 20000
    bias = rng.randint(-span, span, M).astype(np.int32)
    inits = [const("x_s", s_x), const("x_zp", np.uint8(0)), const("w_q", w), const("w_s", ws),
             const("w_zp", np.zeros(M, np.int8)), const("b_q", bias), const("b_s", (s_x * ws).astype(np.float32)),
             const("b_zp", np.zeros(M, np.int32)), const("y_s", s_y), const("y_zp", zp_y)]
    nodes = [helper.make_node("QuantizeLinear", ["x", "x_s", "x_zp"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "x_s", "x_zp"], ["xd"]),
             helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["wd"], axis=0 if kind == "conv" else 1),
             helper.make_node("DequantizeLinear", ["b_q", "b_s", "b_zp"], ["bd"], axis=0)]
    if kind == "conv":
        nodes.append(helper.make_node("Conv", ["xd", "wd", "bd"], ["acc"], kernel_shape=[3, 3]))
    else:
        nodes += [helper.make_node("MatMul", ["xd", "wd"], ["mm"]), helper.make_node("Add", ["mm", "bd"], ["acc"])]
    nodes += [helper.make_node("QuantizeLinear", ["acc", "y_s", "y_zp"], ["yq"]),
              helper.make_node("DequantizeLinear", ["yq", "y_s", "y_zp"], ["logits"])]
    m = make_model(nodes, [tensor_info("x", TensorProto.FLOAT, xshape)],
                   [tensor_info("logits", TensorProto.FLOAT, yshape)], inits, opset=13, ir_version=7)
    onnx.checker.check_model(m)
    save(m, path_)
    # inputs: at the rails (255, 0), random, and for "ties" small integers
    n = 64
    if kind == "ties":
        x = rng.randint(0, 4, (n, K)).astype(np.float32) * np.float32(2.0 ** -8)
    else:
        x = rng.uniform(0, 1, [n] + xshape[1:]).astype(np.float32)
        x[:8] = 1.0
        x[8:12] = 0.0
        x[12:16] = rng.choice([0.0, 1.0], [4] + xshape[1:])
        x[16:20] = 2.0  # beyond the calibrated range: saturates to 255
    return x


HOST_CPUS = ["native", "x86-64-v2", "x86-64-v3", "skylake-avx512"]
NEEDS = {"x86-64-v2": ["sse4_2", "ssse3", "popcnt"], "x86-64-v3": ["avx2", "fma", "bmi2", "f16c", "movbe"],
         "skylake-avx512": ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]}


def host_cpus():
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((l for l in f if l.startswith("flags")), ":").split(":", 1)[1].split())
    except OSError:
        flags = set()
    return [c for c in HOST_CPUS if all(fl in flags for fl in NEEDS.get(c, []))]


def check_synthetic(kind):
    mp = path("stress-%s.onnx" % kind)
    x = qdq_model(mp, kind)
    xf = path("stress-%s-x.npy" % kind)
    np.save(xf, x)
    o = QdqOracle(mp, tie_rel=None if kind == "ties" else TIE_REL)
    ref = o.run(x)
    q_ref = np.rint(ref.astype(np.float64) / o.out_scale) + o.out_zp
    notes = ["%d of %d outputs saturated" % (int(((q_ref == 0) | (q_ref == 255)).sum()), q_ref.size)]
    if kind == "ties":
        expect(o.exact_ties > 0.2 * o.rounded, "the ties model has only %d exact ties in %d values" % (
            o.exact_ties, o.rounded))
        notes.append("%d exact ties in %d values" % (o.exact_ties, o.rounded))
    problems = []
    interp = outputs([QKC, "interp", mp, "--lowered", "-i", xf], path("out", "stress-%s-interp" % kind))
    results = {"interp --lowered": interp}
    for cpu in host_cpus():
        so = path("stress-%s-%s.so" % (kind, cpu))
        ok([QKC, "compile", mp, "-o", so] + ([] if cpu == "native" else ["--cpu", cpu]))
        results[cpu] = outputs([QKC, "run", so, "-i", xf], path("out", "stress-%s-%s" % (kind, cpu)))
    for where, got in results.items():
        differ = got.view(np.uint32) != ref.view(np.uint32)
        bad = differ & ~o.tie_rows.reshape((-1,) + (1,) * (got.ndim - 1))
        lsb = np.abs(np.rint(got.astype(np.float64) / o.out_scale) - np.rint(ref.astype(np.float64) / o.out_scale))
        if bad.any() or lsb.max() > 1:
            i = tuple(np.argwhere(bad | (lsb > 1))[0])
            problems.append("%s: %d outputs differ from the oracle, first at %s: %r vs %r (%d LSB)" % (
                where, int(bad.sum()), i, got[i], ref[i], lsb[i]))
    expect(not problems, "%s model (%s):\n  %s" % (kind, mp, "\n  ".join(problems)))
    return "%s; equal on %s" % (", ".join(notes), ", ".join(results))


for _k in ("rails", "conv", "ties"):
    suite.check("synthetic QDQ %s model == the exact oracle (interp --lowered and every x86-64 CPU)" % _k,
                check_synthetic, _k)


# ---- 3. --io int8 --------------------------------------------------------------------------------------------------

IO_RE = r"^\s+(input|output)\s+%([^\s:]+)(?::\s+(\w+)\[[^\]]*\])?\s+quantized: scale=(\S+) zero_point=(-?\d+)"


def io_params(model, *opts):
    """{('input'|'output', name): (dtype or None, scale f32, zero point, scale
    as printed)} from `qkc inspect --io int8 --print-after plan`."""
    r = ok([QKC, "inspect", model, "--io", "int8", "--print-after", "plan"] + list(opts))
    text = r.out.split("# after plan")[-1]
    found = {(kind, name): (dt or None, np.float32(scale), int(zp), scale)
             for kind, name, dt, scale, zp in re.findall(IO_RE, text, re.M)}
    expect(("input", "input") in found and ("output", "logits") in found,
           "inspect --io int8 does not show the input and the output quantized", r)
    return found


def header_params(model, prefix, *opts):
    """{'input'|'output': (dtype, scale f32, zero point)} of the input 'input'
    and the output 'logits' from the header of --emit obj --header --io int8."""
    h, o = path(prefix + ".h"), path(prefix + ".o")
    ok([QKC, "compile", model, "--io", "int8", "--emit", "obj", "--header", h, "--prefix", prefix, "-o", o] +
       list(opts))
    with open(h) as f:
        text = f.read()
    P = prefix.upper()
    out = {}
    for kind, name in (("input", "INPUT"), ("output", "LOGITS")):
        m1 = re.search(r"#define %s_%s_%s_SCALE (\S+)" % (P, kind.upper(), name), text)
        m2 = re.search(r"#define %s_%s_%s_ZERO_POINT (-?\d+)" % (P, kind.upper(), name), text)
        m3 = re.search(r"/\* %s \d+: '%s' (\w+) \[" % (kind, name.lower()), text)
        expect(m1 and m2 and m3, "%s: no %s_%s_%s_SCALE / _ZERO_POINT macros or type comment" % (
            h, P, kind.upper(), name))
        out[kind] = (m3.group(1), np.float32(m1.group(1)), int(m2.group(1)))
    return out


def quantize(x, dtype, scale, zp):
    """round half to even of x/scale (float32 division), + zero point, saturate."""
    info = np.iinfo(dtype)
    v = np.rint(x.astype(np.float32) / np.float32(scale)).astype(np.float64) + zp
    return np.clip(v, info.min, info.max).astype(dtype)


def dequantize(q, scale, zp):
    return (q.astype(np.int32) - zp).astype(np.float32) * np.float32(scale)


NP_T = {"u8": np.uint8, "i8": np.int8}


def io_info(model, prefix, *opts):
    plan = io_params(model, *opts)
    hdr = header_params(model, prefix, *opts)
    pin, pout = plan[("input", "input")], plan[("output", "logits")]
    for kind, p in (("input", pin), ("output", pout)):
        h = hdr[kind]  # (dtype, scale, zero point)
        expect(p[1] == h[1] and p[2] == h[2], "%s %s: inspect says scale %r zero point %d, the header %r %d" % (
            model, kind, p[1], p[2], h[1], h[2]))
        if p[0]:
            expect(p[0] == h[0], "%s %s: inspect says %s, the header %s" % (model, kind, p[0], h[0]))
    expect(hdr["input"][0] in NP_T and hdr["output"][0] in NP_T, "%s: io types %s, %s" % (
        model, hdr["input"][0], hdr["output"][0]))
    return hdr


def check_io_int8(m):
    prof = path("%s.qprofile" % m)
    if not os.path.exists(prof):
        ok([QKC, "calibrate", ONNX[m], "--calib", CALIB, "-o", prof])
    opts = ["--precision", "int8", "--profile", prof]
    hdr = io_info(ONNX[m], "q" + m, *opts)
    (tin, sin, zin), (tout, sout, zout) = hdr["input"], hdr["output"]
    expect(tin == "u8" and tout == "u8", "%s int8 (u8 activations): io types %s -> %s, want u8" % (m, tin, tout))
    fso, qso = path("%s-int8.so" % m), path("%s-int8-io.so" % m)
    ok([QKC, "compile", ONNX[m], "-o", fso] + opts)
    ok([QKC, "compile", ONNX[m], "-o", qso, "--io", "int8"] + opts)
    x = load_npy(X)
    xq = quantize(x, NP_T[tin], sin, zin)
    np.save(path("%s-xq.npy" % m), xq)
    ref = outputs([QKC, "run", fso, "-i", X], path("out", "%s-int8" % m))
    q = outputs([QKC, "run", qso, "-i", path("%s-xq.npy" % m)], path("out", "%s-int8-io" % m))
    expect(q.dtype == NP_T[tout] and q.shape == ref.shape, "int8-io output %s %s" % (q.dtype, q.shape))
    deq = dequantize(q, sout, zout).astype(np.float64)
    ref64 = ref.astype(np.float64)
    eps = 1e-5 * np.abs(ref64).max()
    info = np.iinfo(NP_T[tout])
    inside = (q > info.min) & (q < info.max)
    err = np.where(inside, np.abs(deq - ref64), 0)
    worst = np.unravel_index(err.argmax(), err.shape)
    expect(err.max() <= sout / 2 + eps, "%s: dequantized int8-io output %r vs float-io %r at %s: %.6g > scale/2 = "
           "%.6g" % (m, deq[worst], ref64[worst], worst, err.max(), sout / 2))
    hi_wrong = (q == info.max) & (ref64 < deq - sout / 2 - eps)
    lo_wrong = (q == info.min) & (ref64 > deq + sout / 2 + eps)
    expect(not hi_wrong.any() and not lo_wrong.any(), "%s: %d saturated outputs on the wrong side of the float-io "
           "output" % (m, int(hi_wrong.sum() + lo_wrong.sum())))
    agree = float(np.mean(deq.argmax(1) == ref.argmax(1)))
    expect(agree >= 0.99, "%s: argmax agreement int8-io vs float-io %.2f%% < 99%%" % (m, 100 * agree))
    return "in %s s=%r z=%d, out %s s=%r z=%d; max err %.4g (scale/2 %.4g), %d saturated, agreement %.2f%%" % (
        tin, sin, zin, tout, sout, zout, err.max(), sout / 2, int((~inside).sum()), 100 * agree)


for _m in ("cnn", "mlp"):
    suite.check("%s --io int8: u8 in/out, scale/zero point in inspect == header; within scale/2 of float io" % _m,
                check_io_int8, _m)


def check_io_errors():
    qso = path("cnn-int8-io.so")
    if not os.path.exists(qso):
        raise Failure("no cnn int8-io artifact (see the check above)")
    plan = io_params(ONNX["cnn"], "--precision", "int8", "--profile", path("cnn.qprofile"))
    _, _, z, scale_txt = plan[("input", "input")]
    r = run([QKC, "run", qso, "-i", X, "-d", path("out", "io-float-in")])
    expect(r.rc == 1, "qkc run of an int8-io artifact with a float .npy: want exit status 1", r)
    expect(scale_txt in r.err and re.search(r"zero.point\D{0,3}%d\b" % z, r.err) is not None,
           "the message does not name the scale %s and zero point %d" % (scale_txt, z), r)
    np.save(path("x-i8.npy"), load_npy(X).astype(np.int8))
    r = run([QKC, "run", qso, "-i", path("x-i8.npy"), "-d", path("out", "io-i8-in")])
    expect(r.rc == 1 and "u8" in r.err, "qkc run of a u8-io artifact with an i8 .npy: want exit 1 naming u8", r)
    r = run([QKC, "compile", ONNX["cnn"], "-o", path("bad-io.so"), "--io", "int8"])
    expect(r.rc == 1, "--io int8 on a float model without --precision int8: want exit status 1", r)
    expect("--precision int8" in r.err, "the message does not say that it needs --precision int8", r)
    return r.err.strip().splitlines()[-1]


suite.check("--io int8: float input refused naming scale/zero point; float model needs --precision int8",
            check_io_errors)


def check_io_kept_float():
    """docs/quantization.md: an input whose first reader is kept in float, or
    an output computed in float, stays float with a warning saying why."""
    prof = path("cnn.qprofile")
    if not os.path.exists(prof):
        ok([QKC, "calibrate", ONNX["cnn"], "--calib", CALIB, "-o", prof])
    notes = []
    for keep, side, other in (("/conv1/Conv", "input", "output"), ("/fc/Gemm", "output", "input")):
        opts = ["--precision", "int8", "--profile", prof, "--io", "int8", "--keep-float", keep]
        r = ok([QKC, "inspect", ONNX["cnn"], "--print-after", "plan"] + opts)
        text = r.out.split("# after plan")[-1]
        line = {k: re.search(r"^\s+%s\s+%%%s\b.*$" % (k, "input" if k == "input" else "logits"), text, re.M)
                for k in ("input", "output")}
        expect(line[side] and "quantized" not in line[side].group(0),
               "--keep-float %s: the %s should stay float" % (keep, side), r)
        expect(line[other] and "quantized" in line[other].group(0),
               "--keep-float %s: the %s should still be quantized" % (keep, other), r)
        expect(re.search(r"warning: .*%s.* stays float" % ("input 'input'" if side == "input" else "output 'logits'"),
                         r.err) is not None, "no warning says why the %s stays float" % side, r)
        so = path("cnn-io-keep-%s.so" % side)
        ok([QKC, "compile", ONNX["cnn"], "-o", so] + opts)
        if side == "input":  # float in, u8 out
            q = outputs([QKC, "run", so, "-i", X], path("out", "cnn-io-keep-input"))
            expect(q.dtype == np.uint8, "--keep-float /conv1/Conv --io int8: output %s, want uint8" % q.dtype)
        else:  # u8 in, float out
            plan = io_params(ONNX["cnn"], "--precision", "int8", "--profile", prof)
            _, s, z, _ = plan[("input", "input")]
            np.save(path("xq-keep.npy"), quantize(load_npy(X), np.uint8, s, z))
            f = outputs([QKC, "run", so, "-i", path("xq-keep.npy")], path("out", "cnn-io-keep-output"))
            expect(f.dtype == np.float32, "--keep-float /fc/Gemm --io int8: output %s, want float32" % f.dtype)
        notes.append("keep %s: %s float" % (keep, side))
    return "; ".join(notes)


suite.check("--io int8 with the first/last layer kept in float: that side stays float, with a warning",
            check_io_kept_float)


def check_fixture_io(name):
    hdr = io_info(fixture(name), "f" + name.replace("_", ""))
    (tin, sin, zin), (tout, sout, zout) = hdr["input"], hdr["output"]
    want = "u8" if "_u8_" in name else "i8"
    expect(tin == want and tout == want, "%s --io int8: io types %s -> %s, want %s" % (name, tin, tout, want))
    qso = path(name + "-io.so")
    ok([QKC, "compile", fixture(name), "-o", qso, "--io", "int8"])
    xq = quantize(load_npy(X), NP_T[tin], sin, zin)
    np.save(path(name + "-xq.npy"), xq)
    q = outputs([QKC, "run", qso, "-i", path(name + "-xq.npy")], path("out", name + "-io"))
    expect(q.dtype == NP_T[tout], "%s: int8-io output dtype %s, want %s" % (name, q.dtype, tout))
    deq = dequantize(q, sout, zout)
    ref = compiled_logits(name)
    bad = np.argwhere(deq.view(np.uint32) != ref.view(np.uint32))
    if len(bad):
        i = tuple(bad[0])
        raise Failure("%s: %d dequantized int8-io logits differ from the float-io artifact's, first at %s: %r vs %r" % (
            name, len(bad), i, deq[i], ref[i]))
    return "%s in s=%r z=%d, out s=%r z=%d" % (tin, sin, zin, sout, zout)


for _f in ("cnn_qdq_u8_pc", "cnn_qdq_s8_pc", "mlp_qdq_s8_pc"):
    if _f in FIXTURES:
        suite.check("%s --io int8 alone: %s io, dequantized == float io bit for bit" % (
            _f, "u8" if "_u8_" in _f else "i8"), check_fixture_io, _f)

suite.finish()
