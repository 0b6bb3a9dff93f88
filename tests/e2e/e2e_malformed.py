#!/usr/bin/python3
"""e2e_malformed.py -- qkc on broken input: every case is a file made here
(under WORK_DIR) and a command; each must exit with status 1 (not 0, not a
crash or a signal, not a sanitizer report, not a hang), with a message on
stderr that names the problem and its place:
  - text syntax (.onnxtxt): file:line:col;
  - binary ONNX: the file and the node name and op type, or the name of the
    input / initializer / output concerned;
  - `qkc run`: the file or the input concerned;
  - calibration data (--calib): the file, the input, and the sample;
    profiles (--profile): file:line:col.
Covered: reading, model structure, types and dims, shapes, attributes,
--bind, quantization parameters, calibration data and profiles, the bound on
created constants (--max-const-bytes), the text syntax, `qkc run`, and every
fuzzer reproducer in tests/frontend/fuzz_repro.
A few cases that must be *accepted* (a graph out of topological order, the
batch fixed with --batch, valid quantization parameters, a constant within
--max-const-bytes, folding past the bound, one symbolic-batch artifact run
at batch 1 and 400) are checked here too, next to their broken neighbours.

    e2e_malformed.py QKC SOURCE_DIR WORK_DIR [-v]

-v prints the first line of each message."""
import os
import platform
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
X = os.path.join(MODELS, "digits_test_x.npy")
F = TensorProto.FLOAT
I64 = TensorProto.INT64

suite = Suite("e2e_malformed")


def path(name):
    return os.path.join(WORK, name)


def write(name, data):
    p = path(name)
    with open(p, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p


def fails(cmd, *patterns):
    """The command exits 1 and stderr matches every regex pattern."""
    r = run(cmd)
    expect(r.rc == 1, "expected exit status 1", r)
    expect(r.err.strip() != "", "expected a message on stderr", r)
    expect("internal error" not in r.err, "bad input must not be reported as a compiler bug", r)
    for pat in patterns:
        expect(re.search(pat, r.err, re.S) is not None, "stderr does not match /%s/" % pat, r)
    return r.err.strip().splitlines()[0]


def compile_fails(model_file, *patterns, extra=()):
    return fails([QKC, "compile", model_file, "-o", path("out.so"), *extra], *patterns)


def q(p):
    """A file name as a regex."""
    return re.escape(p)


def at_node(file, node, op):
    return r"%s: error: node '%s' \(%s\)" % (q(file), re.escape(node), re.escape(op))


def at_line(file):
    return r"%s:\d+:\d+: error: " % q(file)


# A small valid model to break: x[N,4] -> Relu -> MatMul w[4,3] -> y[N,3]
def base_nodes():
    return [helper.make_node("Relu", ["x"], ["h"], name="relu0"),
            helper.make_node("MatMul", ["h", "w"], ["y"], name="mm0")]


def base_io():
    return [tensor_info("x", F, ["N", 4])], [tensor_info("y", F, ["N", 3])]


def base_inits():
    return [const("w", np.arange(12, dtype=np.float32).reshape(4, 3) / 10)]


def base(**kw):
    ins, outs = base_io()
    args = dict(nodes=base_nodes(), inputs=ins, outputs=outs, inits=base_inits())
    args.update(kw)
    return make_model(args["nodes"], args["inputs"], args["outputs"], args["inits"],
                      **{k: v for k, v in kw.items() if k in ("opset", "ir_version")})


def case(name):
    def deco(fn):
        suite.check(name, fn)
        return fn
    return deco


# ---- reading the file --------------------------------------------------------

@case("empty file")
def _():
    f = write("empty.onnx", b"")
    return compile_fails(f, q(f) + r": error: .*empty")


@case("empty text file")
def _():
    f = write("empty.onnxtxt", "")
    return compile_fails(f, q(f) + r"(:\d+:\d+)?: error: ")


@case("random bytes")
def _():
    f = write("random.onnx", np.random.RandomState(7).bytes(4096))
    return compile_fails(f, q(f) + r": error: .*(not a valid ONNX model|does not parse)")


@case("truncated .onnx")
def _():
    with open(os.path.join(MODELS, "mlp.onnx"), "rb") as src:
        data = src.read()
    f = write("truncated.onnx", data[: len(data) // 2])
    return compile_fails(f, q(f) + r": error: .*(not a valid ONNX model|does not parse)")


@case("a protobuf that is not a model (TensorProto)")
def _():
    f = write("tensor.onnx", const("t", np.ones((3, 3), np.float32)).SerializeToString())
    return compile_fails(f, q(f) + r": error: .*(not a valid ONNX model|does not parse|no graph)")


@case("a protobuf that is not a model (NodeProto)")
def _():
    f = write("node.onnx", helper.make_node("Relu", ["a"], ["b"], name="n").SerializeToString())
    return compile_fails(f, q(f) + r": error: .*(not a valid ONNX model|does not parse|no graph)")


@case("a .npy file given as the model")
def _():
    f = path("x_as_model.onnx")
    shutil.copyfile(X, f)
    return compile_fails(f, q(f) + r": error: ")


@case("a directory given as the model")
def _():
    d = path("adir.onnx")
    os.makedirs(d, exist_ok=True)
    return compile_fails(d, q(d) + r": error: .*not a regular file")


@case("a model file that does not exist")
def _():
    f = path("nope.onnx")
    return compile_fails(f, q(f) + r": error: .*(cannot open|No such file)")


# ---- model structure -----------------------------------------------------------

@case("model without graph")
def _():
    m = onnx.ModelProto()
    m.ir_version = 8
    m.opset_import.add().version = 13
    f = save(m, path("nograph.onnx"))
    return compile_fails(f, q(f) + r": error: .*no graph")


@case("opset missing")
def _():
    f = save(base(opset=None), path("noopset.onnx"))
    return compile_fails(f, q(f) + r": error: .*opset")


@case("opset too new")
def _():
    f = save(base(opset=99), path("opset99.onnx"))
    return compile_fails(f, q(f) + r": error: .*opset 99 is not supported")


@case("graph without outputs")
def _():
    ins, _ = base_io()
    f = save(make_model([helper.make_node("Relu", ["x"], ["h"], name="relu0")], ins, []), path("noout.onnx"))
    return compile_fails(f, q(f) + r": error: .*no outputs")


@case("output not produced by any node")
def _():
    ins, outs = base_io()
    outs.append(tensor_info("ghost", F, ["N", 3]))
    f = save(base(outputs=outs), path("ghost_out.onnx"))
    return compile_fails(f, q(f) + r": error: 'ghost': .*not produced")


@case("graph input listed twice")
def _():
    ins, outs = base_io()
    f = save(base(inputs=ins + [tensor_info("x", F, ["N", 4])]), path("dupin.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': graph input 'x' is listed twice")


@case("graph output listed twice")
def _():
    ins, outs = base_io()
    f = save(base(outputs=outs + [tensor_info("y", F, ["N", 3])]), path("dupout.onnx"))
    return compile_fails(f, q(f) + r": error: 'y': graph output 'y' is listed twice")


@case("ir_version missing or zero")
def _():
    m = base()
    m.ClearField("ir_version")
    f = save(m, path("noir.onnx"))
    line = compile_fails(f, q(f) + r": error: the model states no IR version \(ir_version is missing\)")
    m.ir_version = 0
    f = save(m, path("zeroir.onnx"))
    compile_fails(f, q(f) + r": error: the model states no IR version")
    return line


def nested_model(depth):
    """A ModelProto whose graph holds a node whose attribute holds a graph
    ... `depth` times, written by hand (protobuf's own encoder recurses)."""
    def field(num, payload):
        key, out, n = (num << 3) | 2, bytearray(), len(payload)
        out.append(key)
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                break
        return bytes(out) + payload
    g = field(1, field(4, b"Relu") + field(1, b"x") + field(2, b"y"))  # GraphProto.node
    for _ in range(depth):
        attr = field(1, b"then_branch") + field(6, g)                     # AttributeProto{name, g}
        node = field(4, b"If") + field(1, b"c") + field(5, attr)          # NodeProto{op_type, input, attribute}
        g = field(1, node)                                                # GraphProto{node}
    return b"\x08\x08" + field(7, g) + field(8, b"\x10\x0d")          # ir_version 8, graph, opset 13


@case("messages nested 30,000 deep (subgraphs in subgraphs): refused before decoding, no crash")
def _():
    f = write("deep.onnx", nested_model(30000))
    return compile_fails(f, q(f) + r": error: messages nested more than 200 deep")


@case("subgraphs nested 10 deep: decoded, then the op is what is unsupported")
def _():
    f = write("deep10.onnx", nested_model(10))
    return compile_fails(f, r"unsupported op: If")


@case("unsupported op")
def _():
    nodes = [helper.make_node("Erfc", ["x"], ["h"], name="erfc0"), helper.make_node("MatMul", ["h", "w"], ["y"],
                                                                                   name="mm0")]
    f = save(base(nodes=nodes), path("erfc.onnx"))
    return compile_fails(f, q(f) + r": error: unsupported op: Erfc \(node 'erfc0'\)")


@case("several unsupported ops in one message")
def _():
    nodes = [helper.make_node("Erfc", ["x"], ["a"], name="erfc0"),
             helper.make_node("Sinc", ["a"], ["b"], name="sinc0"),
             helper.make_node("Erfc", ["b"], ["c"], name="erfc1"),
             helper.make_node("FancyOp", ["c"], ["d"], name="fancy0", domain="com.example"),
             helper.make_node("Relu", ["d"], ["h"], name="relu0"),
             helper.make_node("MatMul", ["h", "w"], ["y"], name="mm0")]
    m = base(nodes=nodes)
    m.opset_import.add(domain="com.example", version=1)
    f = save(m, path("unsupported3.onnx"))
    line = compile_fails(f, r"unsupported ops: ")
    r = run([QKC, "compile", f, "-o", path("out.so")])
    errors = [ln for ln in r.err.splitlines() if "error:" in ln]
    expect(len(errors) == 1, "expected all unsupported ops in ONE message, got %d" % len(errors), r)
    for needle in ("Erfc (node 'erfc0', node 'erfc1')", "Sinc (node 'sinc0')", "com.example.FancyOp (node 'fancy0')"):
        expect(needle in errors[0], "the message lacks %r" % needle, r)
    return line


@case("node input never defined")
def _():
    nodes = base_nodes()
    nodes[1].input[1] = "w_missing"
    f = save(base(nodes=nodes), path("undef_input.onnx"))
    return compile_fails(f, at_node(f, "mm0", "MatMul") + r": input 'w_missing' is not defined")


@case("value defined twice")
def _():
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="relu0"),
             helper.make_node("Relu", ["x"], ["h"], name="relu1"),
             helper.make_node("MatMul", ["h", "w"], ["y"], name="mm0")]
    f = save(base(nodes=nodes), path("twice.onnx"))
    return compile_fails(f, r"%s: error: node 'relu[01]' \(Relu\): .*'h' is already defined" % q(f))


@case("initializer defined twice")
def _():
    inits = base_inits() + base_inits()
    f = save(base(inits=inits), path("twice_init.onnx"))
    return compile_fails(f, q(f) + r": error: 'w': initializer 'w' is defined twice")


@case("cycle")
def _():
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="add0"),
             helper.make_node("Relu", ["a"], ["b"], name="relu0"),
             helper.make_node("MatMul", ["b", "w"], ["y"], name="mm0")]
    f = save(base(nodes=nodes), path("cycle.onnx"))
    return compile_fails(f, r"%s: error: node '(add0|relu0|mm0)' \((Add|Relu|MatMul)\): .*cycle" % q(f))


@case("non-topological order is accepted and sorted")
def _():
    good = save(base(), path("topo_sorted.onnx"))
    bad = save(base(nodes=list(reversed(base_nodes()))), path("topo_reversed.onnx"))
    xs = path("topo_x.npy")
    np.save(xs, np.linspace(-1, 1, 5 * 4, dtype=np.float32).reshape(5, 4))
    outs = []
    for m in (good, bad):
        so = m[:-5] + ".so"
        ok([QKC, "compile", m, "-o", so])
        ok([QKC, "run", so, "-i", xs, "-d", so + ".out"])
        outs.append(load_npy(os.path.join(so + ".out", "y.npy")))
    expect(outs[0].tobytes() == outs[1].tobytes(), "the reversed graph computes something else")
    # the bundled MLP with its nodes backwards
    mlp = onnx.load(os.path.join(MODELS, "mlp.onnx"))
    nodes = list(mlp.graph.node)
    del mlp.graph.node[:]
    mlp.graph.node.extend(reversed(nodes))
    rev = save(mlp, path("mlp_reversed.onnx"))
    logits = []
    for m in (os.path.join(MODELS, "mlp.onnx"), rev):
        so = path(os.path.basename(m)[:-5] + "_topo.so")
        ok([QKC, "compile", m, "-o", so])
        ok([QKC, "run", so, "-i", X, "-d", so + ".out"])
        logits.append(load_npy(os.path.join(so + ".out", "logits.npy")))
    expect(logits[0].tobytes() == logits[1].tobytes(), "the reversed MLP computes something else")
    return "compiled; same outputs (small graph and the MLP backwards)"


@case("node with too many inputs")
def _():
    nodes = base_nodes()
    nodes[0].input.append("x")
    f = save(base(nodes=nodes), path("arity.onnx"))
    return compile_fails(f, at_node(f, "relu0", "Relu") + r": takes 1 input")


# ---- inputs: types and dims --------------------------------------------------

@case("symbolic non-batch dim on an input")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", "C"])]), path("symdim.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*dim 1 is symbolic \('C'\)")


@case("symbolic non-batch dim: the message names the dim and --dim")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", "C"])]), path("symdim2.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*dim 1 is symbolic \('C'\).*fix it with --dim C=N")


@case("--dim NAME=N fixes a named dim (accepted; the output matches a fixed model)")
def _():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", "C"])], [tensor_info("y", F, ["N", "C"])], []),
             path("dimfix.onnx"))
    r = run([QKC, "compile", f, "-o", path("dimfix.so"), "--dim", "C=5"])
    expect(r.rc == 0, "--dim C=5 should compile", r)
    x = np.linspace(-2, 2, 15, dtype=np.float32).reshape(3, 5)
    np.save(path("dimfix_x.npy"), x)
    r = run([QKC, "run", path("dimfix.so"), "-i", path("dimfix_x.npy"), "-d", path("dimfix_out")])
    expect(r.rc == 0, "run failed", r)
    got = np.load(os.path.join(path("dimfix_out"), "y.npy"))
    expect(np.array_equal(got, np.maximum(x, 0)), "wrong result %r" % got, r)
    return "C=5 compiled, batch 3 ran"


@case("--dim naming no dim of the model")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", "C"])]), path("symdim3.onnx"))
    return compile_fails(f, q(f) + r": error: --dim seq: no input of the model has a dim named 'seq'",
                         extra=("--dim", "seq=8", "--dim", "C=4"))


@case("--dim without a positive size")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", "C"])]), path("symdim4.onnx"))
    return compile_fails(f, r"--dim C=0: write NAME=N with N a positive size", extra=("--dim", "C=0"))


@case("a symbolic dim without a name")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", ""])]), path("symdim5.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*dim 1 has no size and no name")


@case("negative dim on an input")
def _():
    f = save(base(inputs=[tensor_info("x", F, ["N", -4])]), path("negdim.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*dim 1 is negative")


@case("huge dims that overflow")
def _():
    big = 1 << 40
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", big, big, big])],
                        [tensor_info("y", F, ["N", big, big, big])]), path("hugedim.onnx"))
    return compile_fails(f, q(f) + r".*: error: .*(overflow|too large)")


@case("huge dims that overflow, no batch dim")
def _():
    big = 1 << 31
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    f = save(make_model(nodes, [tensor_info("x", F, [big, big, big])],
                        [tensor_info("y", F, [big, big, big])]), path("hugedim2.onnx"))
    return compile_fails(f, q(f) + r".*: error: .*(overflow|too large)")


def window_model(name, op, **attrs):
    nodes = [helper.make_node(op, ["x"] + (["k"] if op == "Conv" else []), ["y"], name=name, **attrs)]
    inits = [const("k", np.ones((2, 1, 3, 3), np.float32))] if op == "Conv" else []
    # the output's shape is left undeclared: only the shape rule can catch the size
    return make_model(nodes, [tensor_info("x", F, [1, 1, 8, 8])], [helper.make_tensor_value_info("y", F, None)],
                      inits)


HUGE = 1 << 62


@case("window arithmetic that overflows (MaxPool kernel and pads 2^62)")
def _():
    f = save(window_model("pool0", "MaxPool", kernel_shape=[HUGE, HUGE], pads=[HUGE] * 4), path("pool_huge.onnx"))
    return compile_fails(f, at_node(f, "pool0", "MaxPool"))


@case("window arithmetic that overflows (Conv pads 2^62)")
def _():
    f = save(window_model("conv0", "Conv", pads=[HUGE] * 4), path("conv_pads_huge.onnx"))
    return compile_fails(f, at_node(f, "conv0", "Conv"))


@case("window arithmetic that overflows (Conv dilations 2^62)")
def _():
    f = save(window_model("conv0", "Conv", dilations=[HUGE, HUGE]), path("conv_dil_huge.onnx"))
    return compile_fails(f, at_node(f, "conv0", "Conv"))


@case("output with an unknown leading dim on a fixed-size model (accepted)")
def _():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    f = save(make_model(nodes, [tensor_info("x", F, [1, 4])], [tensor_info("y", F, ["?", 4])]), path("out_q.onnx"))
    onnx.checker.check_model(onnx.load(f), full_check=True)
    ok([QKC, "compile", f, "-o", path("out_q.so")])
    return "compiled"


@case("input without a shape")
def _():
    f = save(base(inputs=[helper.make_tensor_value_info("x", F, None)]), path("noshape.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*no shape")


@case("input of an unsupported element type (string)")
def _():
    f = save(base(inputs=[tensor_info("x", TensorProto.STRING, ["N", 4])]), path("strinput.onnx"))
    return compile_fails(f, q(f) + r": error: 'x': .*STRING")


@case("initializer whose data does not fit its dims")
def _():
    w = const("w", np.zeros((4, 3), np.float32))
    w.raw_data = w.raw_data[:20]
    f = save(base(inits=[w]), path("shortinit.onnx"))
    return compile_fails(f, q(f) + r": error: 'w': ")


@case("wrong input dtype for an op (Conv on int64)")
def _():
    nodes = [helper.make_node("Conv", ["x", "k"], ["y"], name="conv0")]
    f = save(make_model(nodes, [tensor_info("x", I64, ["N", 1, 8, 8])], [tensor_info("y", I64, ["N", 2, 6, 6])],
                        [const("k", np.ones((2, 1, 3, 3), np.int64))]), path("conv_i64.onnx"))
    return compile_fails(f, at_node(f, "conv0", "Conv") + r": .*i64")


@case("declared output type disagrees")
def _():
    _, outs = base_io()
    outs[0] = tensor_info("y", I64, ["N", 3])
    f = save(base(outputs=outs), path("outtype.onnx"))
    return compile_fails(f, q(f) + r": error: 'y': output 'y' is declared i64 but computes f32")


# ---- shapes --------------------------------------------------------------------

@case("MatMul inner dims differ")
def _():
    f = save(base(inits=[const("w", np.ones((5, 3), np.float32))]), path("matmul_k.onnx"))
    return compile_fails(f, at_node(f, "mm0", "MatMul") + r": inner dims differ: \[N,4\] @ \[5,3\]")


@case("Conv channels differ")
def _():
    nodes = [helper.make_node("Conv", ["x", "k"], ["y"], name="conv0", pads=[1, 1, 1, 1])]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 3, 8, 8])], [tensor_info("y", F, ["N", 4, 8, 8])],
                        [const("k", np.ones((4, 2, 3, 3), np.float32))]), path("conv_c.onnx"))
    return compile_fails(f, at_node(f, "conv0", "Conv") + r": input has 3 channels")


@case("Gemm C not broadcastable")
def _():
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="gemm0")]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 4])], [tensor_info("y", F, ["N", 3])],
                        [const("w", np.ones((4, 3), np.float32)), const("c", np.ones((5,), np.float32))]),
             path("gemm_c.onnx"))
    return compile_fails(f, at_node(f, "gemm0", "Gemm") + r": C \[5\] does not broadcast to \[N,3\]")


@case("Concat shapes differ")
def _():
    nodes = [helper.make_node("Concat", ["x", "z"], ["y"], name="cat0", axis=1)]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 4, 2])], [tensor_info("y", F, ["N", 9, 2])],
                        [const("z", np.ones((1, 5, 3), np.float32))]), path("concat.onnx"))
    return compile_fails(f, at_node(f, "cat0", "Concat") + r": .*differ")


@case("Reshape to the wrong element count")
def _():
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape0")]
    f = save(make_model(nodes, [tensor_info("x", F, [2, 6])], [tensor_info("y", F, [5, 2])],
                        [const("s", np.array([5, 2], np.int64))]), path("reshape_n.onnx"))
    return compile_fails(f, at_node(f, "reshape0", "Reshape") + r": cannot reshape \[2,6\]")


@case("Reshape with a run-time shape input suggests --bind")
def _():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape0")]
    f = save(make_model(nodes, [tensor_info("x", F, [2, 6]), tensor_info("shape", I64, [2])],
                        [tensor_info("y", F, [3, 4])]), path("reshape_rt.onnx"))
    return compile_fails(f, at_node(f, "reshape0", "Reshape") + r": input 'shape' .*--bind shape=")


# ---- attributes ----------------------------------------------------------------

@case("bad attribute type")
def _():
    nodes = [helper.make_node("Flatten", ["x"], ["y"], name="flat0", axis=1.5)]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 2, 3])], [tensor_info("y", F, ["N", 6])]),
             path("attr_type.onnx"))
    return compile_fails(f, at_node(f, "flat0", "Flatten") + r": attribute 'axis' must be int, not float")


@case("unknown attribute")
def _():
    nodes = base_nodes()
    nodes[0].attribute.append(helper.make_attribute("slope", 0.5))
    f = save(base(nodes=nodes), path("attr_unknown.onnx"))
    return compile_fails(f, at_node(f, "relu0", "Relu") + r": unknown attribute 'slope'")


@case("out-of-range axis (Flatten)")
def _():
    nodes = [helper.make_node("Flatten", ["x"], ["y"], name="flat0", axis=5)]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 2, 3])], [tensor_info("y", F, ["N", 6])]),
             path("axis_flatten.onnx"))
    return compile_fails(f, at_node(f, "flat0", "Flatten") + r": axis 5 is out of range for rank 3")


@case("out-of-range axis (Softmax)")
def _():
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="sm0", axis=-4)]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 6])], [tensor_info("y", F, ["N", 6])]),
             path("axis_softmax.onnx"))
    return compile_fails(f, at_node(f, "sm0", "Softmax") + r": axis -4 is out of range")


@case("out-of-range axis (Concat)")
def _():
    nodes = [helper.make_node("Concat", ["x", "x"], ["y"], name="cat0", axis=2)]
    f = save(make_model(nodes, [tensor_info("x", F, ["N", 6])], [tensor_info("y", F, ["N", 12])]),
             path("axis_concat.onnx"))
    return compile_fails(f, at_node(f, "cat0", "Concat") + r": axis 2 is out of range for rank 2")


@case("problems in several nodes are all reported")
def _():
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="relu0", bogus=1),
             helper.make_node("MatMul", ["h", "nowhere"], ["y"], name="mm0")]
    f = save(base(nodes=nodes), path("two_errors.onnx"))
    compile_fails(f, at_node(f, "relu0", "Relu") + r": unknown attribute 'bogus'")
    return compile_fails(f, at_node(f, "mm0", "MatMul") + r": input 'nowhere' is not defined")


# ---- --bind ----------------------------------------------------------------------

def reshape_rt():
    return path("reshape_rt.onnx")  # made by the case above


@case("--bind: the file does not exist")
def _():
    b = path("no_such_bind.npy")
    return compile_fails(reshape_rt(), q(b), extra=["--bind", "shape=" + b])


@case("--bind: not a .npy file")
def _():
    b = write("bind_garbage.npy", b"this is not numpy\n")
    return compile_fails(reshape_rt(), q(b) + r".*not a \.npy file", extra=["--bind", "shape=" + b])


@case("--bind: wrong dtype")
def _():
    b = path("bind_f32.npy")
    np.save(b, np.array([3, 4], np.float32))
    return compile_fails(reshape_rt(), r"'shape': --bind shape: the data is f32", extra=["--bind", "shape=" + b])


@case("--bind: no input of that name")
def _():
    b = path("bind_ok.npy")
    np.save(b, np.array([3, 4], np.int64))
    return compile_fails(reshape_rt(), r"--bind nosuch: the model has no input of that name",
                         extra=["--bind", "shape=" + b, "--bind", "nosuch=" + b])


@case("--bind: no '='")
def _():
    return compile_fails(reshape_rt(), r"--bind shape\.npy: write NAME=FILE\.npy", extra=["--bind", "shape.npy"])


@case("--bind fixes the run-time shape (accepted)")
def _():
    b = path("bind_ok.npy")
    np.save(b, np.array([3, 4], np.int64))
    ok([QKC, "compile", reshape_rt(), "-o", path("reshape_bound.so"), "--bind", "shape=" + b])
    return "compiled"


# ---- text syntax ---------------------------------------------------------------------

TEXT_OK = """<ir_version: 8, opset_import: ["" : 13]>
g (float[N, 4] x) => (float[N, 3] y)
<float[4, 3] w = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}>
{
  h = Relu(x)
  y = MatMul(h, w)
}
"""


def text_fails(name, text, line, *patterns):
    f = write(name, text)
    pats = [r"%s:%d:\d+: error: " % (q(f), line)] + list(patterns)
    return compile_fails(f, *pats)


@case("text: the reference text compiles (accepted)")
def _():
    f = write("ok.onnxtxt", TEXT_OK)
    ok([QKC, "compile", f, "-o", path("ok_text.so")])
    return "compiled"


@case("text: missing =>")
def _():
    return text_fails("no_arrow.onnxtxt", TEXT_OK.replace("=> ", ""), 2, r"=>")


@case("text: bad token")
def _():
    return text_fails("bad_token.onnxtxt", TEXT_OK.replace("h = Relu(x)", "h = Relu(x) $"), 5)


@case("text: unterminated string")
def _():
    t = TEXT_OK.replace("<ir_version: 8,", '<ir_version: 8, producer_name: "qkc,')
    return text_fails("unterminated.onnxtxt", t, 1, r"(?i)unterminated|string")


@case("text: truncated file")
def _():
    return text_fails("truncated.onnxtxt", TEXT_OK[: TEXT_OK.index("y = MatMul") + 8], 6)


@case("text: unknown type name")
def _():
    return text_fails("bad_type.onnxtxt", TEXT_OK.replace("float[N, 4] x", "flaot[N, 4] x"), 2)


@case("text: random bytes")
def _():
    return text_fails("random.onnxtxt", np.random.RandomState(3).bytes(300), 1)


@case("text: a dim out of range")
def _():
    return text_fails("bigdim.onnxtxt", TEXT_OK.replace("float[N, 4] x", "float[N, 99999999999999999999] x"), 2,
                      r"out of range")


@case("text: too many values for an initializer")
def _():
    return text_fails("init_count.onnxtxt", TEXT_OK.replace("10, 11}", "10, 11, 12}"), 3)


@case("text: undefined input of a node (position of the node)")
def _():
    return text_fails("undef.onnxtxt", TEXT_OK.replace("MatMul(h, w)", "MatMul(h, w2)"), 6,
                      r"input 'w2' is not defined")


@case("text: shape error at the node's line")
def _():
    t = TEXT_OK.replace("float[4, 3] w", "float[3, 4] w")
    return text_fails("shape.onnxtxt", t, 6, r"inner dims differ")


@case("text: unsupported op at its line")
def _():
    return text_fails("unsupported.onnxtxt", TEXT_OK.replace("Relu(x)", "Erfc(x)"), 5, r"unsupported op: Erfc")


@case("text: errors in two nodes are both reported")
def _():
    t = TEXT_OK.replace("h = Relu(x)", "h = Relu(x) )").replace("y = MatMul(h, w)", "y = MatMul(h, w) )")
    f = write("two_syntax.onnxtxt", t)
    compile_fails(f, r"%s:5:\d+: error: " % q(f))
    return compile_fails(f, r"%s:6:\d+: error: " % q(f))


# ---- quantization parameters ----------------------------------------------------------
# A scale the model holds as a constant must be positive and finite; zero
# points have the operand's type (u8/i8) and fit it; per-axis parameters run
# along a dim of the operand and have its length.

U8 = TensorProto.UINT8
I8 = TensorProto.INT8


def qdq_model(name, scale, zp, axis=None, dq_zp=None):
    """x[N,4] f32 -> QuantizeLinear -> DequantizeLinear -> y."""
    kw = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q0", **kw),
             helper.make_node("DequantizeLinear", ["q", "s", "zp2" if dq_zp is not None else "zp"], ["y"],
                              name="dq0", **kw)]
    inits = [scale if isinstance(scale, TensorProto) else const("s", scale),
             zp if isinstance(zp, TensorProto) else const("zp", zp)]
    if dq_zp is not None:
        inits.append(const("zp2", dq_zp))
    return save(make_model(nodes, [tensor_info("x", F, ["N", 4])], [tensor_info("y", F, ["N", 4])], inits),
                path(name))


def dq_model(name, scale):
    """x[N,4] u8 -> DequantizeLinear -> y."""
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "zp"], ["y"], name="dq0")]
    return save(make_model(nodes, [tensor_info("x", U8, ["N", 4])], [tensor_info("y", F, ["N", 4])],
                           [const("s", np.float32(scale)), const("zp", np.uint8(128))]), path(name))


def qmm_model(name, a_s=0.1, a_zp=np.uint8(128), b_s=0.05, b_zp=np.uint8(128), y_s=0.2, y_zp=np.uint8(128)):
    """a[N,4] u8 @ b[4,3] u8 -> QLinearMatMul -> y u8."""
    nodes = [helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm0")]
    inits = [const("as", np.asarray(a_s, np.float32)), const("az", a_zp), const("b", np.full((4, 3), 130, np.uint8)),
             const("bs", np.asarray(b_s, np.float32)), const("bz", b_zp), const("ys", np.asarray(y_s, np.float32)),
             const("yz", y_zp)]
    return save(make_model(nodes, [tensor_info("a", U8, ["N", 4])], [tensor_info("y", U8, ["N", 3])], inits),
                path(name))


def qconv_model(name, x_s=0.1, w_s=0.05, w_zp=np.uint8(128), y_s=0.2):
    """x[N,1,6,6] u8 -> QLinearConv with w[2,1,3,3] u8 -> y u8."""
    nodes = [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], name="qconv0")]
    inits = [const("xs", np.float32(x_s)), const("xz", np.uint8(128)), const("w", np.full((2, 1, 3, 3), 130, np.uint8)),
             const("ws", np.asarray(w_s, np.float32)), const("wz", w_zp), const("ys", np.float32(y_s)),
             const("yz", np.uint8(128))]
    return save(make_model(nodes, [tensor_info("x", U8, ["N", 1, 6, 6])], [tensor_info("y", U8, ["N", 2, 4, 4])],
                           inits), path(name))


BAD_SCALE = r": scale '%s' \(input %d\) holds %s; a scale must be positive and finite"


@case("QuantizeLinear and DequantizeLinear with a valid scale (accepted)")
def _():
    f = qdq_model("qdq_ok.onnx", np.float32(0.1), np.uint8(128))
    ok([QKC, "compile", f, "-o", path("qdq_ok.so")])
    return "compiled"


@case("QuantizeLinear: zero scale")
def _():
    f = qdq_model("qdq_scale0.onnx", np.float32(0), np.uint8(128))
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + BAD_SCALE % ("s", 1, "0"))


@case("QuantizeLinear: NaN scale")
def _():
    f = qdq_model("qdq_nan.onnx", np.float32(np.nan), np.uint8(128))
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + BAD_SCALE % ("s", 1, "nan"))


@case("DequantizeLinear: negative scale")
def _():
    f = dq_model("dq_neg.onnx", -0.5)
    return compile_fails(f, at_node(f, "dq0", "DequantizeLinear") + BAD_SCALE % ("s", 1, "-0.5"))


@case("DequantizeLinear: infinite scale")
def _():
    f = dq_model("dq_inf.onnx", np.inf)
    return compile_fails(f, at_node(f, "dq0", "DequantizeLinear") + BAD_SCALE % ("s", 1, "inf"))


@case("QuantizeLinear: per-axis scale with a zero")
def _():
    f = qdq_model("qdq_axis0.onnx", np.array([0.1, 0, 0.1, 0.1], np.float32), np.full(4, 128, np.uint8), axis=1)
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + BAD_SCALE % ("s", 1, "0 at index 1"))


@case("QuantizeLinear: scale of the wrong dtype (f64)")
def _():
    f = qdq_model("qdq_f64.onnx", np.float64(0.1), np.uint8(128))
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + r": scale must be f32, not f64")


@case("QuantizeLinear: zero point of another dtype (i32)")
def _():
    f = qdq_model("qdq_zp_i32.onnx", np.float32(0.1), np.int32(0))
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + r": zero point of i32: QuantizeLinear produces u8 "
                         r"or i8")


@case("DequantizeLinear: zero point unlike its input's dtype")
def _():
    f = qdq_model("dq_zp_i8.onnx", np.float32(0.1), np.uint8(128), dq_zp=np.int8(0))
    return compile_fails(f, at_node(f, "dq0", "DequantizeLinear") + r": zero point must be u8, not i8")


@case("QuantizeLinear: per-axis scale length unlike the channel count")
def _():
    f = qdq_model("qdq_axis_len.onnx", np.full(3, 0.1, np.float32), np.full(3, 128, np.uint8), axis=1)
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + r": scale must be a scalar or hold 4 values, not "
                         r"\[3\]")


@case("QuantizeLinear: axis out of range")
def _():
    f = qdq_model("qdq_axis5.onnx", np.full(4, 0.1, np.float32), np.full(4, 128, np.uint8), axis=5)
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + r": axis 5 is out of range for rank 2")


@case("QuantizeLinear: per-tensor zero point that is not a scalar")
def _():
    f = qdq_model("qdq_zp2.onnx", np.float32(0.1), np.full(2, 128, np.uint8))
    return compile_fails(f, at_node(f, "q0", "QuantizeLinear") + r": zero point must be a scalar, not \[2\]")


@case("QuantizeLinear: zero point out of its type's range (u8 300 in int32_data)")
def _():
    zp = TensorProto()
    zp.name, zp.data_type = "zp", U8
    zp.int32_data.append(300)
    f = qdq_model("qdq_zp300.onnx", np.float32(0.1), zp)
    return compile_fails(f, q(f) + r": error: 'zp': tensor 'zp': int32_data\[0\] = 300 is out of range for u8")


@case("QLinearMatMul with valid parameters (accepted)")
def _():
    f = qmm_model("qmm_ok.onnx")
    ok([QKC, "compile", f, "-o", path("qmm_ok.so")])
    return "compiled"


@case("QLinearMatMul: zero y_scale")
def _():
    f = qmm_model("qmm_ys0.onnx", y_s=0.0)
    return compile_fails(f, at_node(f, "qmm0", "QLinearMatMul") + BAD_SCALE % ("ys", 6, "0"))


@case("QLinearMatMul: NaN in a per-column b_scale")
def _():
    f = qmm_model("qmm_bs_nan.onnx", b_s=[0.1, np.nan, 0.1])
    return compile_fails(f, at_node(f, "qmm0", "QLinearMatMul") + BAD_SCALE % ("bs", 4, "nan at index 1"))


@case("QLinearMatMul: b_scale length unlike the column count")
def _():
    f = qmm_model("qmm_bs_len.onnx", b_s=[0.1, 0.1])
    return compile_fails(f, at_node(f, "qmm0", "QLinearMatMul") + r": b_scale must be a scalar or hold 3 values, "
                         r"not \[2\]")


@case("QLinearMatMul: a_zero_point unlike a's dtype")
def _():
    f = qmm_model("qmm_az_i8.onnx", a_zp=np.int8(0))
    return compile_fails(f, at_node(f, "qmm0", "QLinearMatMul") + r": a_zero_point must be u8, not i8")


@case("QLinearConv: infinite x_scale")
def _():
    f = qconv_model("qconv_xs_inf.onnx", x_s=np.inf)
    return compile_fails(f, at_node(f, "qconv0", "QLinearConv") + BAD_SCALE % ("xs", 1, "inf"))


@case("QLinearConv: negative y_scale")
def _():
    f = qconv_model("qconv_ys_neg.onnx", y_s=-0.5)
    return compile_fails(f, at_node(f, "qconv0", "QLinearConv") + BAD_SCALE % ("ys", 6, "-0.5"))


@case("QLinearConv: w_scale length unlike the output channels")
def _():
    f = qconv_model("qconv_ws_len.onnx", w_s=[0.1, 0.1, 0.1])
    return compile_fails(f, at_node(f, "qconv0", "QLinearConv") + r": w_scale must be a scalar or hold 2 values, "
                         r"not \[3\]")


@case("QLinearConv: w_zero_point unlike w's dtype")
def _():
    f = qconv_model("qconv_wz_i8.onnx", w_zp=np.int8(0))
    return compile_fails(f, at_node(f, "qconv0", "QLinearConv") + r": w_zero_point must be u8, not i8")


@case("DynamicQuantizeLinear of a double input")
def _():
    f = path("dql_f64.onnx")
    n = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"], name="dql0")
    save(make_model([n], [tensor_info("x", TensorProto.DOUBLE, [4])],
                    [tensor_info("y", U8, [4]), tensor_info("s", F, []), tensor_info("z", U8, [])], []), f)
    return compile_fails(f, at_node(f, "dql0", "DynamicQuantizeLinear") + r": DynamicQuantizeLinear of f64 is not "
                         r"supported \(f32 only\)")


@case("--precision int8-dynamic with options of calibrated int8: exit 2, named")
def _():
    for opts, pat in ((["--activations", "s8"], r"--activations s8, --pow2-scales, --io int8, --smooth and --report "
                       r"go with int8 or mixed"),
                      (["--calib", path("none.npy")], r"--calib and --profile go with --precision int8 or mixed")):
        r = run([QKC, "compile", os.path.join(MODELS, "mlp.onnx"), "-o", path("out.so"), "--precision",
                 "int8-dynamic"] + opts)
        expect(r.rc == 2 and re.search(pat, r.err), "expected exit 2 and /%s/" % pat, r)
    return "refused with the option named"


@case("--smooth out of (0, 1), or without int8: exit 2, named")
def _():
    for opts, pat in ((["--precision", "int8", "--smooth", "1.5"], r"--smooth 1.5: want a number between 0 and 1"),
                      (["--precision", "int8", "--smooth", "x"], r"--smooth x: want a number between 0 and 1"),
                      (["--smooth", "0.5"], r"--smooth goes with --precision int8 or mixed")):
        r = run([QKC, "compile", os.path.join(MODELS, "mlp.onnx"), "-o", path("out.so")] + opts)
        expect(r.rc == 2 and re.search(pat, r.err), "expected exit 2 and /%s/" % pat, r)
    return "refused with the option named"


# ---- calibration data and profiles ----------------------------------------------------

MLP = os.path.join(MODELS, "mlp.onnx")
CALIB_X = os.path.join(MODELS, "digits_calib_x.npy")


def int8_fails(*patterns, calib=None, profile=None, model=MLP):
    extra = ["--precision", "int8"] + (["--calib", calib] if calib else []) + (["--profile", profile] if profile else [])
    return compile_fails(model, *patterns, extra=extra)


def calib_x():
    return np.load(CALIB_X)


@case("--calib: data of the wrong shape")
def _():
    f = path("calib_flat.npy")
    np.save(f, calib_x().reshape(-1, 64)[:, :10])
    return int8_fails(q(f) + r": error: calibration data for input 'input' is f32\[200,10\], the model wants "
                      r"f32\[N,1,8,8\]", calib=f)


@case("--calib: data of the wrong dtype")
def _():
    f = path("calib_f64.npy")
    np.save(f, calib_x().astype(np.float64))
    return int8_fails(q(f) + r": error: calibration data for input 'input' is f64\[200,1,8,8\]", calib=f)


@case("--calib: NaN in the data")
def _():
    f = path("calib_nan.npy")
    x = calib_x()
    x[3, 0, 2, 5] = np.nan
    np.save(f, x)
    return int8_fails(q(f) + r": error: calibration data for input 'input' holds nan \(sample 3, element 21\); "
                      r"calibration data must be finite", calib=f)


@case("--calib: inf in one file of a directory")
def _():
    d = path("calib_dir_inf")
    os.makedirs(d, exist_ok=True)
    x = calib_x()
    np.save(os.path.join(d, "a.npy"), x[:100])
    x[150, 0, 0, 0] = -np.inf
    np.save(os.path.join(d, "b.npy"), x[100:])
    b = os.path.join(d, "b.npy")
    return int8_fails(q(b) + r": error: calibration data for input 'input' holds -inf \(sample 50, element 0\)",
                      calib=d)


@case("--calib: no samples")
def _():
    f = path("calib_empty.npy")
    np.save(f, calib_x()[:0])
    return int8_fails(q(f) + r": error: calibration data for input 'input' has no samples", calib=f)


@case("qkc calibrate: NaN in the data")
def _():
    return fails([QKC, "calibrate", MLP, "--calib", path("calib_nan.npy"), "-o", path("nan.qprofile")],
                 q(path("calib_nan.npy")) + r": error: .*holds nan")


def good_profile():
    p = path("mlp.qprofile")
    if not os.path.exists(p):
        ok([QKC, "calibrate", MLP, "--calib", CALIB_X, "-o", p])
    with open(p) as f:
        return f.read()


def profile_fails(name, text, *patterns):
    f = write(name, text)
    return int8_fails(*[pat.replace("FILE", q(f)) for pat in patterns], profile=f)


@case("--profile: truncated")
def _():
    t = good_profile()
    return profile_fails("trunc.qprofile", t[: len(t) // 2], r"FILE:\d+:\d+: error: ")


@case("--profile: not JSON")
def _():
    return profile_fails("garbage.qprofile", "\x00\x01binary junk", r"FILE:1:1: error: expected '\{' \(a qkc profile\)")


@case("--profile: another version")
def _():
    t = good_profile().replace('"qkc_profile": 1', '"qkc_profile": 99')
    return profile_fails("v99.qprofile", t, r"FILE:1:\d+: error: profile version 99 is not supported")


@case("--profile: min above max")
def _():
    t = good_profile()
    t2 = re.sub(r'"min": [^,]+, "max": [^,]+,', '"min": 2, "max": 1,', t, count=1)
    expect(t2 != t, "no min/max found in the profile")
    return profile_fails("minmax.qprofile", t2, r"FILE:\d+:\d+: error: tensor '[^']+': inconsistent statistics: min "
                         r"and max not ordered")


@case("--profile: a negative count")
def _():
    t = good_profile()
    t2 = re.sub(r'"count": \d+', '"count": -5', t, count=1)
    return profile_fails("negcount.qprofile", t2, r"FILE:\d+:\d+: error: count must not be negative")


@case("--profile: made for another model")
def _():
    t = re.sub(r'"model_hash": "[0-9a-f]+"', '"model_hash": "0000000000000000"', good_profile())
    return profile_fails("other.qprofile", t, r"FILE: error: this profile was made for another model")


@case("--profile: a tensor left out")
def _():
    t = good_profile()
    t2 = re.sub(r'\n  "[^"]+": \{.*?\n  "', '\n  "', t, count=1, flags=re.S)
    expect(t2 != t, "no tensor removed from the profile")
    return profile_fails("missing.qprofile", t2, q(MLP) + r": error: .*the calibration profile has no range for")


# ---- the bound on created constants ------------------------------------------------------

def cos_model(name, n):
    """y = x + ConstantOfShape([n]) — a constant of 4n bytes from a few bytes."""
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["c"], name="big",
                              value=helper.make_tensor("v", F, [1], [1.0])),
             helper.make_node("Add", ["x", "c"], ["y"], name="add0")]
    return save(make_model(nodes, [tensor_info("x", F, [n])], [tensor_info("y", F, [n])],
                           [const("shape", np.array([n], np.int64))]), path(name))


@case("ConstantOfShape of 2 GiB from a small file: over the default bound")
def _():
    f = cos_model("cos_2g.onnx", 1 << 29)
    expect(os.path.getsize(f) < 1024, "the model is not small")
    return compile_fails(f, at_node(f, "big", "ConstantOfShape") + r": makes a constant of 2147483648 bytes, over the "
                         r"bound on constants a model may create \(268435456 bytes: max\(256 MiB, 64 x the model's "
                         r"\d+ bytes\).*--max-const-bytes N raises it")


@case("ConstantOfShape over --max-const-bytes (refused at 1M, accepted at 8M)")
def _():
    f = cos_model("cos_4m.onnx", 1 << 20)
    ok([QKC, "inspect", f, "--max-const-bytes", "8M"])
    return fails([QKC, "inspect", f, "--max-const-bytes", "1M"],
                 at_node(f, "big", "ConstantOfShape") + r": makes a constant of 4194304 bytes, .*"
                 r"\(--max-const-bytes 1048576, 0 bytes of it already used\)")


@case("folding past the bound leaves the node to run time (accepted, warned, same result)")
def _():
    n = 256
    a = np.arange(n, dtype=np.float32).reshape(n, 1) / n
    b = np.linspace(-1, 1, n, dtype=np.float32).reshape(1, n)
    nodes = [helper.make_node("Add", ["a", "b"], ["c"], name="outer"),
             helper.make_node("Mul", ["x", "c"], ["y"], name="mul0")]
    f = save(make_model(nodes, [tensor_info("x", F, [n, n])], [tensor_info("y", F, [n, n])],
                        [const("a", a), const("b", b)]), path("fold_grow.onnx"))
    so = path("fold_grow.so")
    r = ok([QKC, "compile", f, "-o", so, "--max-const-bytes", "64K"])
    expect(re.search(at_node(f, "outer", "Add").replace("error", "warning") + r": not folded: its result \(262144 "
                     r"bytes\) is more than is left \(65536 bytes\).*--max-const-bytes", r.err), "no warning", r)
    x = np.random.RandomState(5).rand(n, n).astype(np.float32)
    xf, out = path("fold_grow_x.npy"), path("fold_grow_out")
    np.save(xf, x)
    ok([QKC, "run", so, "-i", xf, "-d", out])
    got = load_npy(os.path.join(out, "y.npy"))
    expect(np.allclose(got, x * (a + b), rtol=1e-6, atol=1e-6), "the unfolded Add computes another result")
    r = ok([QKC, "compile", f, "-o", path("fold_grow2.so")])
    expect("not folded" not in r.err, "folded within the default bound, yet warned", r)
    return "warned and ran"


# ---- fuzzer findings -------------------------------------------------------------------

@case("every fuzzer reproducer in tests/frontend/fuzz_repro exits 1 with a message")
def _():
    d = os.path.join(SRC, "tests", "frontend", "fuzz_repro")
    files = sorted(os.listdir(d))
    expect(files, "no reproducers in %s" % d)
    for name in files:
        f = os.path.join(d, name)
        compile_fails(f, q(f) + r"(:\d+:\d+)?: error: ")
    return "%d files" % len(files)


# ---- qkc run ------------------------------------------------------------------------------

CNN_SO = path("cnn.so")
CNN_B3_SO = path("cnn_b3.so")


_compiled = []


def cnn_so():
    """The CNN compiled once per run (a file left by an older qkc may have
    another ABI)."""
    if not _compiled:
        ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "-o", CNN_SO])
        _compiled.append(CNN_SO)
    return CNN_SO


def run_fails(inputs, *patterns, artifact=None):
    args = [QKC, "run", artifact or cnn_so()]
    for i in inputs:
        args += ["--input", i]
    return fails(args + ["--output-dir", path("run_out")], *patterns)


def npy_x():
    return np.load(X)


@case("run: missing input")
def _():
    return run_fails([], r"input 'input' is missing")


@case("run: unknown input name")
def _():
    return run_fails(["image=" + X], r"the model has no input 'image' \(inputs: 'input'\)")


@case("run: .npy with the wrong dtype")
def _():
    f = path("x_f64.npy")
    np.save(f, npy_x().astype(np.float64))
    return run_fails([f], r"input 'input': the \.npy holds f64 .*wants f32")


@case("run: .npy with the wrong shape")
def _():
    f = path("x_flat.npy")
    np.save(f, npy_x().reshape(360, 64))
    return run_fails([f], r"input 'input': the \.npy has shape \[360,64\], the model wants \[N,1,8,8\]")


@case("run: .npy with truncated data")
def _():
    f = path("x_trunc.npy")
    np.save(f, npy_x())
    with open(f, "r+b") as h:
        h.truncate(os.path.getsize(f) - 100)
    return run_fails([f], q(f) + r": truncated")


@case("run: .npy with a bad header")
def _():
    f = path("x_badhdr.npy")
    np.save(f, npy_x())
    with open(f, "r+b") as h:
        data = bytearray(h.read())
        i = data.index(b"'shape'")
        data[i:i + 7] = b"'shap3'"
        h.seek(0)
        h.write(data)
    return run_fails([f], q(f) + r": bad header")


@case("run: .npy with batch 0")
def _():
    f = path("x_empty.npy")
    np.save(f, npy_x()[:0])
    return run_fails([f], r"input 'input': the \.npy has shape \[0,1,8,8\]")


@case("run: an nvptx artifact without a CUDA driver")
def _():
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        raise Skip("a CUDA driver is present")
    except OSError:
        pass
    a = path("cnn-nvptx.so")
    ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "--target", "nvptx", "-o", a])
    return run_fails([X], q(a) + r": no CUDA driver", artifact=a)


@case("run: an input file that does not exist")
def _():
    f = path("no_such_input.npy")
    return run_fails([f], q(f) + r": cannot open")


@case("run: an artifact that is not a qkc artifact (text)")
def _():
    a = write("notes.so", "just some text\n")
    return run_fails([X], q(a) + r": not a qkc artifact", artifact=a)


@case("run: an artifact that is not a qkc artifact (another shared object)")
def _():
    libs = [p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                        "/lib/aarch64-linux-gnu/libm.so.6") if os.path.exists(p)]
    if not libs:
        raise Skip("no libm.so.6 found to stand for a foreign shared object")
    a = path("libm_copy.so")
    shutil.copyfile(libs[0], a)
    return run_fails([X], q(a) + r": not a qkc artifact \(no qkc_artifact symbol\)", artifact=a)


@case("run: an object file instead of a shared object")
def _():
    o = path("cnn_obj.o")
    ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "--emit", "obj", "-o", o])
    return run_fails([X], q(o) + r" is an object file", artifact=o)


@case("run: an artifact for a CPU with features this one lacks")
def _():
    # the first CPU (of qkc's list) needing a feature /proc/cpuinfo does not show
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next(l for l in f if l.startswith(("flags", "Features"))).split(":", 1)[1].split())
    except (OSError, StopIteration):
        raise Skip("no /proc/cpuinfo flags")
    if platform.machine() != "x86_64":
        raise Skip("the CPU list below is x86-64's")
    wants = [("x86-64-v3", "avx2"), ("x86-64-v4", "avx512f"), ("cascadelake", "avx512_vnni"),
             ("sapphirerapids", "avx512_fp16")]
    cpu, flag = next(((c, fl) for c, fl in wants if fl not in flags), (None, None))
    if not cpu:
        raise Skip("this CPU has every feature of qkc's x86-64 CPUs")
    a = path("cnn-%s.so" % cpu)
    ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "--cpu", cpu, "-o", a])
    return run_fails([X], q(a) + r": compiled for CPU '%s', which has .*%s.*; this CPU does not: recompile with "
                     r"--cpu native" % (cpu, flag.replace("_", "")), artifact=a)


@case("compile: --cpu lists (fat artifacts) that cannot be")
def _():
    mlp = os.path.join(MODELS, "mlp.onnx")
    for cpus, extra, pat in (("portable", ["--emit", "obj"], r"--emit so \(not obj\)"),
                             ("x86-64-v2,,x86-64-v3", [], r"an empty or overlong CPU name"),
                             ("x86-64-v3,x86-64-v3", [], r"'x86-64-v3' is listed twice"),
                             ("sm_80,sm_90", ["--target", "nvptx"], r"is for CPU targets, not nvptx"),
                             ("portable", ["--target", "aarch64"], r"a set of x86_64 CPUs, not aarch64 ones"),
                             ("x86-64-v3,bogus", [], r"unknown CPU 'bogus' for x86_64")):
        compile_fails(mlp, r"--cpu|unknown CPU", pat, extra=["--cpu", cpus] + extra)
    return "6 lists refused"


@case("run: an artifact that does not exist")
def _():
    a = path("no_such_model.so")
    return run_fails([X], q(a) + r": no such file", artifact=a)


@case("run: --batch 3 artifact has no batch dim (accepted at 3, refused at 360)")
def _():
    ok([QKC, "compile", os.path.join(MODELS, "cnn.onnx"), "--batch", "3", "-o", CNN_B3_SO])
    x3 = path("x3.npy")
    np.save(x3, npy_x()[:3])
    out = path("run_b3")
    ok([QKC, "run", CNN_B3_SO, "-i", x3, "-d", out])
    got = load_npy(os.path.join(out, "logits.npy"))
    expect(got.shape == (3, 10), "logits of shape %s, want (3, 10)" % (got.shape,))
    return run_fails([X], r"input 'input': the \.npy has shape \[360,1,8,8\], the model wants \[3,1,8,8\]",
                     artifact=CNN_B3_SO)


@case("run: one symbolic-batch artifact runs at batch 1 and 400 (accepted)")
def _():
    x = npy_x()
    x1, x400 = path("x1.npy"), path("x400.npy")
    np.save(x1, x[:1])
    np.save(x400, np.concatenate([x, x[:40]]))
    out1, out400 = path("run_1"), path("run_400")
    ok([QKC, "run", cnn_so(), "-i", x1, "-d", out1])
    ok([QKC, "run", cnn_so(), "-i", "input=" + x400, "-d", out400])
    l1, l400 = load_npy(os.path.join(out1, "logits.npy")), load_npy(os.path.join(out400, "logits.npy"))
    expect(l1.shape == (1, 10) and l400.shape == (400, 10), "shapes %s and %s" % (l1.shape, l400.shape))
    expect(np.allclose(l1[0], l400[0], rtol=1e-5, atol=1e-5), "image 0 differs between batch 1 and 400")
    y = np.load(os.path.join(MODELS, "digits_test_y.npy"))
    acc = float(np.mean(l400[:360].argmax(1) == y))
    expect(acc >= 0.98, "accuracy %.4f at batch 400" % acc)
    return "accuracy %.2f%%" % (100 * acc)


@case("interp: malformed model")
def _():
    return fails([QKC, "interp", path("matmul_k.onnx"), "-i", X, "-d", path("interp_out")],
                 at_node(path("matmul_k.onnx"), "mm0", "MatMul") + r": inner dims differ")


@case("interp: input of the wrong shape")
def _():
    return fails([QKC, "interp", os.path.join(MODELS, "cnn.onnx"), "-i", path("x_flat.npy"), "-d",
                  path("interp_out")], r"input 'input': the \.npy is f32\[360,64\], the model wants f32\[N,1,8,8\]")


@case("inspect: malformed model")
def _():
    return fails([QKC, "inspect", path("erfc.onnx")], r"unsupported op: Erfc")


suite.finish()
