#!/usr/bin/python3
"""e2e_deep.py -- deep graphs: a 10,000-node chain (Relu and Add with a
constant, alternating) compiles without stack overflow or quadratic time and
computes what numpy computes, whether it comes as binary ONNX, with its
nodes in reverse order (the importer sorts them), in the text syntax, or
quantized to int8 (calibration runs the interpreter over every node). Each
check prints its compile time with -v; no check asserts a time (the
machine's load varies), but the test's timeout (ctest) bounds them all.

    e2e_deep.py QKC SOURCE_DIR WORK_DIR [-v]"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
F = TensorProto.FLOAT
LEN = 10000
B = np.float32(0.001)

suite = Suite("e2e_deep")


def path(name):
    return os.path.join(WORK, name)


def chain_nodes():
    nodes, prev = [], "x"
    for i in range(LEN):
        out = "y" if i == LEN - 1 else "t%d" % i
        if i % 2 == 0:
            nodes.append(helper.make_node("Relu", [prev], [out], name="relu%d" % i))
        else:
            nodes.append(helper.make_node("Add", [prev, "b"], [out], name="add%d" % i))
        prev = out
    return nodes


def chain_model(name, reverse=False):
    nodes = chain_nodes()
    if reverse:
        nodes.reverse()
    m = make_model(nodes, [tensor_info("x", F, ["N", 16])], [tensor_info("y", F, ["N", 16])],
                   [const("b", np.full((1, 16), B, np.float32))])
    return save(m, path(name))


def chain_text(name):
    lines = ['<ir_version: 8, opset_import: ["" : 13]>',
             "g (float[N, 16] x) => (float[N, 16] y) <float[1, 16] b = {%s}> {" % ", ".join(["0.001"] * 16)]
    for n in chain_nodes():
        lines.append("  %s = %s(%s)" % (n.output[0], n.op_type, ", ".join(n.input)))
    lines.append("}")
    p = path(name)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def expected(x):
    y = x.astype(np.float32)
    for i in range(LEN):
        y = np.maximum(y, 0) if i % 2 == 0 else (y + B).astype(np.float32)
    return y


X = np.random.RandomState(11).randn(32, 16).astype(np.float32)
XF = path("x.npy")
np.save(XF, X)


def compile_and_run(model, tag, extra=(), tol=1e-6):
    so = path(tag + ".so")
    t0 = time.time()
    ok([QKC, "compile", model, "-o", so] + list(extra), timeout=300)
    dt = time.time() - t0
    out = path(tag + "_out")
    ok([QKC, "run", so, "-i", XF, "-d", out])
    got = load_npy(os.path.join(out, "y.npy"))
    want = expected(X)
    err = float(np.max(np.abs(got - want)))
    expect(err <= tol, "%s: max abs error %g against numpy (tolerance %g)" % (tag, err, tol))
    return "%d nodes compiled in %.2f s, max abs error %g" % (LEN, dt, err)


suite.check("a 10,000-node chain (binary ONNX)", lambda: compile_and_run(chain_model("chain.onnx"), "chain"))
suite.check("a 10,000-node chain with its nodes in reverse order",
            lambda: compile_and_run(chain_model("chain_rev.onnx", reverse=True), "chain_rev"))
suite.check("a 10,000-node chain in the text syntax", lambda: compile_and_run(chain_text("chain.onnxtxt"), "chain_txt"))
# int8: every Add rounds to the activation scale; the error stays a few steps
suite.check("a 10,000-node chain in int8 (calibrated)",
            lambda: compile_and_run(path("chain.onnx"), "chain_int8", ["--precision", "int8", "--calib", XF], tol=0.5))

suite.finish()
