#!/usr/bin/python3
"""make_seeds.py -- the seed corpora of the fuzz targets, made from the
repository's models and test inputs (nothing generated is committed).

    make_seeds.py SOURCE_DIR OUT_DIR
    make_seeds.py --small-profiles DIR

writes OUT_DIR/{onnx,text,passes,npy,profile}/ (the profile seeds are made
by run.sh with qkc calibrate; --small-profiles then adds, next to each
profile of DIR, one that keeps only its smallest tensor). Binary models: the bundled ones, the
text corpus parsed by onnx.parser, and small models made here that use
every supported op (kept small, so the fuzzers run fast); text models: the
corpus and the small models in the text syntax (tests/e2e/onnx2text.py);
.npy: the bundled data and small arrays of every dtype, byte order and
layout. Runs with Debian's /usr/bin/python3 (python3-onnx, numpy); without
them only the files are copied."""
import glob
import io
import os
import shutil
import sys


def small_profiles(folder):
    import json
    for p in sorted(glob.glob(os.path.join(folder, "*.qprofile"))):
        prof = json.load(open(p))
        ts = prof.get("tensors") or {}
        if not ts:
            continue
        k = min(ts, key=lambda k: len(json.dumps(ts[k])))
        prof["tensors"] = {k: ts[k]}
        with open(p[:-len(".qprofile")] + "_one.qprofile", "w") as f:
            json.dump(prof, f)


if sys.argv[1] == "--small-profiles":
    small_profiles(sys.argv[2])
    sys.exit(0)
SRC, OUT = sys.argv[1], sys.argv[2]
for sub in ("onnx", "text", "passes", "npy", "profile"):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)


def put(sub, name, data):
    with open(os.path.join(OUT, sub, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def copy(pattern, *subs):
    for p in sorted(glob.glob(os.path.join(SRC, pattern))):
        for sub in subs:
            shutil.copy(p, os.path.join(OUT, sub, os.path.basename(p)))


copy("models/*.onnx", "onnx", "passes")
copy("models/quantized/*.onnx", "onnx", "passes")
copy("tests/frontend/text/*.onnxtxt", "text", "passes")
copy("models/*.npy", "npy")

try:
    import numpy as np
    import onnx
    from onnx import TensorProto as T, helper, numpy_helper
except ImportError:
    print("make_seeds: no numpy/onnx in %s: only the bundled files are seeds" % sys.executable)
    sys.exit(0)

sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import onnx2text  # noqa: E402

# ---- binary forms of the text corpus ----
for p in sorted(glob.glob(os.path.join(SRC, "tests/frontend/text/*.onnxtxt"))):
    try:
        m = onnx.parser.parse_model(open(p).read())
    except Exception:  # noqa: BLE001 -- not every corpus model is one onnx 1.12 parses
        continue
    put("onnx", os.path.basename(p)[:-8] + ".onnx", m.SerializeToString())

# ---- small models over every supported op ----
rng = np.random.RandomState(0)


def w(name, *shape, dtype=np.float32):
    return numpy_helper.from_array((rng.randn(*shape) if dtype == np.float32 else
                                    rng.randint(-3, 4, size=shape)).astype(dtype), name)


def vi(name, shape, elem=T.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(name, nodes, ins, outs, inits, opset=13, ms=False):
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid("com.microsoft", 1)] if ms else [])
    g = helper.make_graph(nodes, name, ins, outs, inits)
    return helper.make_model(g, opset_imports=ops, ir_version=7)


N = helper.make_node
small = {
    "convnet": model("convnet", [
        N("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        N("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
        N("Relu", ["bn"], ["r"]),
        N("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        N("AveragePool", ["p"], ["ap"], kernel_shape=[1, 1]),
        N("GlobalAveragePool", ["ap"], ["g"]),
        N("Flatten", ["g"], ["f"]),
        N("Gemm", ["f", "gw", "gb"], ["z"], transB=1),
        N("Softmax", ["z"], ["y"])],
        [vi("x", ["N", 1, 4, 4])], [vi("y", ["N", 3])],
        [w("cw", 2, 1, 3, 3), w("cb", 2), w("s", 2), w("b", 2), w("m", 2),
         numpy_helper.from_array(np.ones(2, np.float32), "v"), w("gw", 3, 2), w("gb", 3)]),
    "shapes": model("shapes", [
        N("Reshape", ["x", "shp"], ["a"]),
        N("Transpose", ["a"], ["t"], perm=[1, 0]),
        N("Unsqueeze", ["t", "ax"], ["u"]),
        N("Squeeze", ["u", "ax"], ["sq"]),
        N("Concat", ["sq", "sq"], ["cc"], axis=0),
        N("Cast", ["cc"], ["h"], to=T.FLOAT16),
        N("Cast", ["h"], ["hc"], to=T.FLOAT),
        N("Clip", ["hc", "lo", "hi"], ["cl"]),
        N("LeakyRelu", ["cl"], ["lr"], alpha=0.1),
        N("Sigmoid", ["lr"], ["sg"]),
        N("Tanh", ["sg"], ["th"]),
        N("Constant", [], ["k"], value=numpy_helper.from_array(np.float32([2.0]))),
        N("Div", ["th", "k"], ["dv"]),
        N("Sub", ["dv", "k"], ["sb"]),
        N("Max", ["sb", "dv", "th"], ["mx"]),
        N("Min", ["mx", "k"], ["mn"]),
        N("ConstantOfShape", ["cs"], ["z"], value=numpy_helper.from_array(np.float32([0.5]))),
        N("Add", ["mn", "z"], ["s2"]),
        N("Identity", ["s2"], ["i"]),
        N("Dropout", ["i"], ["y"])],
        [vi("x", [2, 6])], [vi("y", [6, 4])],
        [numpy_helper.from_array(np.int64([3, 4]), "shp"), numpy_helper.from_array(np.int64([0]), "ax"),
         numpy_helper.from_array(np.float32(-1), "lo"), numpy_helper.from_array(np.float32(1), "hi"),
         numpy_helper.from_array(np.int64([6, 4]), "cs")]),
    "qdq": model("qdq", [
        N("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        N("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        N("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
        N("Conv", ["xd", "wd"], ["c"], kernel_shape=[1, 1]),
        N("QuantizeLinear", ["c", "xs", "xz"], ["cq"]),
        N("DequantizeLinear", ["cq", "xs", "xz"], ["y"])],
        [vi("x", ["N", 2, 3, 3])], [vi("y", ["N", 2, 3, 3])],
        [numpy_helper.from_array(np.float32(0.05), "xs"), numpy_helper.from_array(np.uint8(128), "xz"),
         w("wq", 2, 2, 1, 1, dtype=np.int8), numpy_helper.from_array(np.float32([0.1, 0.2]), "ws"),
         numpy_helper.from_array(np.int8([0, 0]), "wz")]),
    "qop": model("qop", [
        N("QLinearConv", ["x", "xs", "xz", "wq", "ws", "wz", "ys", "yz"], ["c"], kernel_shape=[1, 1]),
        N("QLinearAdd", ["c", "ys", "yz", "c", "ys", "yz", "ys", "yz"], ["a"], domain="com.microsoft"),
        N("QLinearGlobalAveragePool", ["a", "ys", "yz", "ys", "yz"], ["g"], domain="com.microsoft"),
        N("Flatten", ["g"], ["f"]),
        N("QLinearMatMul", ["f", "ys", "yz", "mw", "ws1", "wz1", "ys", "yz"], ["m"]),
        N("QGemm", ["m", "ys", "yz", "gw", "ws1", "wz1", "gc", "ys", "yz"], ["q"], domain="com.microsoft",
          transB=1),
        N("MatMulInteger", ["q", "mw2", "yz", "wz1"], ["mi"]),
        N("Cast", ["mi"], ["y"], to=T.FLOAT)],
        [vi("x", [1, 2, 3, 3], T.UINT8)], [vi("y", [1, 2])],
        [numpy_helper.from_array(np.float32(0.05), "xs"), numpy_helper.from_array(np.uint8(128), "xz"),
         w("wq", 2, 2, 1, 1, dtype=np.int8), numpy_helper.from_array(np.float32([0.1, 0.2]), "ws"),
         numpy_helper.from_array(np.int8([0, 0]), "wz"), numpy_helper.from_array(np.float32(0.1), "ys"),
         numpy_helper.from_array(np.uint8(120), "yz"), w("mw", 2, 2, dtype=np.int8),
         numpy_helper.from_array(np.float32(0.02), "ws1"), numpy_helper.from_array(np.int8(0), "wz1"),
         w("gw", 2, 2, dtype=np.int8), w("gc", 2, dtype=np.int32), w("mw2", 2, 2, dtype=np.int8)],
        ms=True),
    "opset7": model("opset7", [
        N("Gemm", ["x", "w", "b"], ["g"], broadcast=1),
        N("Clip", ["g"], ["c"], min=-1.0, max=1.0),
        N("Reshape", ["c"], ["r"], shape=[2, 2]),
        N("Softmax", ["r"], ["y"])],
        [vi("x", [1, 3])], [vi("y", [2, 2])], [w("w", 3, 4), w("b", 4)], opset=4),
}
for name, m in small.items():
    data = m.SerializeToString()
    put("onnx", "small_%s.onnx" % name, data)
    put("passes", "small_%s.onnx" % name, data)
    try:
        txt = onnx2text.to_text(m)
    except (Exception, SystemExit):  # noqa: BLE001 -- onnx2text covers plain models only
        continue
    put("text", "small_%s.onnxtxt" % name, txt)
    put("passes", "small_%s.onnxtxt" % name, txt)

# ---- external data, for fuzz_onnx's sandbox folder (see fuzz_onnx.c) ----
for loc, off in (("w.bin", 0), ("w.bin", 4096), ("in_link", 16), ("out_link", 0), ("sub", 0),
                 ("fifo", 0), ("../outside.bin", 0), ("/etc/passwd", 0)):
    m = model("ext", [N("MatMul", ["x", "w"], ["y"])], [vi("x", ["N", 4])], [vi("y", ["N", 3])],
              [w("w", 4, 3)])
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = T.EXTERNAL
    for k, v in (("location", loc), ("offset", str(off)), ("length", "48")):
        e = t.external_data.add()
        e.key, e.value = k, v
    put("onnx", "ext_%s_%d.onnx" % (loc.replace("/", "_").replace(".", "_"), off), m.SerializeToString())

# ---- .npy: every dtype, both byte orders, both layouts, versions 1-3 ----
for dt in ("<f4", ">f4", "<f2", "<f8", "|i1", "|u1", "<i2", ">u2", "<i4", "<u4", "<i8", ">u8", "|b1"):
    for shape in ((), (0,), (3,), (2, 3), (2, 1, 3)):
        a = (np.arange(int(np.prod(shape))) % 5).astype(dt).reshape(shape)
        for order in ("C", "F") if len(shape) > 1 else ("C",):
            b = io.BytesIO()
            np.lib.format.write_array(b, np.asarray(a, order=order), version=(1, 0))
            tag = "%s_%s_%s" % (dt.replace("<", "le").replace(">", "be").replace("|", ""),
                                "x".join(map(str, shape)) or "scalar", order)
            put("npy", "a_%s.npy" % tag, b.getvalue())
a = np.arange(6, dtype=np.float32).reshape(2, 3)
for ver in ((2, 0), (3, 0)):
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=ver)
    put("npy", "v%d.npy" % ver[0], b.getvalue())
print("make_seeds: seeds in %s" % OUT)
