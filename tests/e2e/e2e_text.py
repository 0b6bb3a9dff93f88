#!/usr/bin/python3
"""e2e_text.py -- the ONNX text syntax end to end: the bundled models
written as .onnxtxt (weights as initializers, by onnx2text.py, since
Debian's onnx 1.12 has no onnx.printer), checked by onnx.parser to hold the
very weights of the binary model, then compiled by qkc; the artifact from
the text must give bit-identical outputs to the one from the binary .onnx
at batch 1, 360 and 400, and `qkc interp` too.

    e2e_text.py QKC SOURCE_DIR WORK_DIR [-v]"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403
import onnx2text  # noqa: E402

try:
    import onnx.parser
except ImportError:  # pragma: no cover - Debian's onnx 1.12 has it
    onnx.parser = None

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
X = os.path.join(MODELS, "digits_test_x.npy")

suite = Suite("e2e_text")


def path(*p):
    return os.path.join(WORK, *p)


def inputs():
    x = np.load(X)
    files = {}
    for n, data in ((1, x[7:8]), (360, x), (400, np.concatenate([x, x[:40]]))):
        files[n] = path("x%d.npy" % n)
        np.save(files[n], data)
    return files


def check_text_holds_the_weights(binary, text_file):
    if onnx.parser is None:
        return "onnx.parser missing: not cross-checked"
    with open(text_file) as f:
        parsed = onnx.parser.parse_model(f.read())
    orig = onnx.load(binary)
    expect([n.op_type for n in parsed.graph.node] == [n.op_type for n in orig.graph.node],
           "onnx.parser reads other ops from the text")
    a = [numpy_helper.to_array(t) for t in orig.graph.initializer]
    b = [numpy_helper.to_array(t) for t in parsed.graph.initializer]
    expect(len(a) == len(b), "%d initializers in the text, %d in the binary" % (len(b), len(a)))
    for x, y in zip(a, b):
        expect(x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(),
               "an initializer's bits differ between text and binary")
    return "onnx.parser reads the same %d weights" % len(a)


def check_model(name):
    binary = os.path.join(MODELS, name + ".onnx")
    text = path(name + ".onnxtxt")
    with open(text, "w") as f:
        f.write(onnx2text.to_text(onnx.load(binary)))
    note = check_text_holds_the_weights(binary, text)
    xs = inputs()
    outs = {}
    for kind, model in (("bin", binary), ("txt", text)):
        so = path("%s-%s.so" % (name, kind))
        ok([QKC, "compile", model, "-o", so])
        for n, x in xs.items():
            d = path("%s-%s-b%d" % (name, kind, n))
            ok([QKC, "run", so, "-i", x, "-d", d])
            outs[kind, n] = load_npy(os.path.join(d, "logits.npy"))
        d = path("%s-%s-interp" % (name, kind))
        ok([QKC, "interp", model, "-i", xs[360], "-d", d])
        outs[kind, "interp"] = load_npy(os.path.join(d, "logits.npy"))
    for key in (1, 360, 400, "interp"):
        a, b = outs["bin", key], outs["txt", key]
        expect(a.shape == b.shape and a.dtype == b.dtype, "%s %s: shapes %s vs %s" % (name, key, a.shape, b.shape))
        if a.tobytes() != b.tobytes():
            bad = np.argwhere(a.view(np.uint32) != b.view(np.uint32))
            raise Failure("%s at %s: outputs from the text differ from the binary's at %d elements, first %s: "
                          "%r vs %r" % (name, key if key == "interp" else "batch %d" % key, len(bad), bad[0],
                                        b[tuple(bad[0])], a[tuple(bad[0])]))
    return note + "; bit-identical at batch 1, 360, 400 and in the interpreter"


suite.check("mlp.onnxtxt vs mlp.onnx", check_model, "mlp")
suite.check("cnn.onnxtxt vs cnn.onnx", check_model, "cnn")
suite.finish()
