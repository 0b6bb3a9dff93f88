#!/usr/bin/python3
"""e2e_python.py -- python/qkrt.py, the ctypes runner over libqkrt.so,
against `qkc run` (the oracle: the same artifact, through the C runtime).

  1. The digits CNN (fp32 and int8) and the sequence transformer (int64
     token ids): qkrt.load(...).run(x), run({name: x}), and
     `python3 -m qkrt run ART -i NAME=FILE.npy -d DIR` give outputs bit for
     bit equal to qkc run's; m.inputs / m.outputs describe the tensors.
  2. Bad inputs raise qkrt.InputError (a ValueError) and `python3 -m qkrt
     run` fails with exit status 1 and the message qkc run prints for the
     same files: wrong dtype, wrong shape, an unknown input name, different
     batches; a missing artifact raises qkrt.Error (QKRT_ERR_IO).
  3. `python3 -m qkrt bench ART --iters K --json` reports K timed runs.

    e2e_python.py QKC SOURCE_DIR WORK_DIR LIBQKRT_SO [--sanitize] [-v]

--sanitize: the build has ASan, whose libqkrt.so cannot be loaded into an
uninstrumented Python: skipped."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, rest = paths_from_argv(__doc__)
if not rest:
    sys.exit(__doc__)
if "--sanitize" in sys.argv:
    print("SKIP e2e_python: a sanitizer build's libqkrt.so does not load into an uninstrumented Python")
    sys.exit(77)
LIBQKRT = os.path.abspath(rest[0])
os.environ["QKRT_LIBRARY"] = LIBQKRT
sys.path.insert(0, os.path.join(SRC, "python"))
import qkrt  # noqa: E402

MODELS = os.path.join(SRC, "models")
X = os.path.join(MODELS, "digits_test_x.npy")
ENV = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"), QKRT_LIBRARY=LIBQKRT)
PY = [sys.executable, "-B", "-m", "qkrt"]

suite = Suite("e2e_python")


def path(*p):
    return os.path.join(WORK, *p)


def same_bits(a, b, what):
    expect(a.dtype == b.dtype and a.shape == b.shape, "%s: %s %s vs qkc run's %s %s" % (what, a.dtype, a.shape,
                                                                                        b.dtype, b.shape))
    differ = np.flatnonzero(a.view(np.uint8) != b.view(np.uint8))
    expect(not len(differ), "%s: %d bytes differ from qkc run's" % (what, len(differ)))


def compiled(name, model, *opts):
    so = path(name + ".so")
    ok([QKC, "compile", os.path.join(MODELS, model), "-o", so] + list(opts), timeout=300)
    return so


def seq_ids():
    ids = np.random.default_rng(7).integers(0, 24, (16, 32)).astype(np.int64)  # models/seq_task.py: VOCAB 24, SEQ 32
    np.save(path("ids.npy"), ids)
    return path("ids.npy")


CASES = {  # name: (model, qkc compile options, input name, input file)
    "cnn": ("cnn.onnx", [], "input", X),
    "cnn_int8": ("cnn.onnx", ["--precision", "int8", "--calib", os.path.join(MODELS, "digits_calib_x.npy")],
                 "input", X),
    "seqformer": ("seqformer.onnx", [], "ids", None),
}


def same_as_qkc_run(name):
    model, opts, input_name, x_file = CASES[name]
    x_file = x_file or seq_ids()
    so = compiled(name, model, *opts)
    ok([QKC, "run", so, "-i", "%s=%s" % (input_name, x_file), "-d", path(name + "-qkc")])
    want = load_npy(path(name + "-qkc", "logits.npy"))
    x = load_npy(x_file)
    with qkrt.load(so, threads=1) as m:
        expect([t.name for t in m.inputs] == [input_name] and m.inputs[0].dtype == x.dtype and
               m.inputs[0].shape == (None,) + x.shape[1:], "m.inputs: %s" % (m.inputs,))
        expect([t.name for t in m.outputs] == ["logits"] and m.outputs[0].shape[0] is None,
               "m.outputs: %s" % (m.outputs,))
        same_bits(m.run(x)["logits"], want, "run(x)")
        same_bits(m.run({input_name: x})["logits"], want, "run({name: x})")
    ok(PY + ["run", so, "-i", "%s=%s" % (input_name, x_file), "-d", path(name + "-py")], env=ENV)
    same_bits(load_npy(path(name + "-py", "logits.npy")), want, "python3 -m qkrt run")


def errors():
    so = compiled("cnn", "cnn.onnx")
    x = load_npy(X)
    bad = {"f64": x.astype(np.float64), "shape": x[:, :, :4], "rank": x[0]}
    for what, arr in bad.items():
        np.save(path("bad_%s.npy" % what), arr)
        try:
            qkrt.load(so).run(arr)
        except qkrt.InputError as e:
            expect(isinstance(e, ValueError) and "input 'input'" in str(e), "%s: %s" % (what, e))
        else:
            raise Failure("%s: no InputError" % what)
    # the same messages as qkc run, for the same files
    for spec in ["input=" + path("bad_f64.npy"), "input=" + path("bad_shape.npy"), path("bad_rank.npy"),
                 "images=" + X]:
        want = run([QKC, "run", so, "-i", spec, "-d", path("err-qkc")])
        got = run(PY + ["run", so, "-i", spec, "-d", path("err-py")], env=ENV)
        expect(want.rc == 1 and got.rc == 1, "exit statuses %d (qkc run), %d (python3 -m qkrt run)" % (want.rc, got.rc),
               got)
        expect(want.err.startswith("qkc run: ") and got.err.startswith("qkrt run: ") and
               want.err[len("qkc run: "):] == got.err[len("qkrt run: "):],
               "messages differ:\n  qkc run:  %s  qkrt:     %s" % (want.err, got.err))
    try:
        qkrt.load(path("nowhere.so"))
    except qkrt.Error as e:
        expect(e.status == "QKRT_ERR_IO" and "nowhere.so" in str(e), "missing artifact: %s %s" % (e.status, e))
    else:
        raise Failure("a missing artifact loaded")


def batches():
    """Two inputs of different batches: a model with two batched inputs (Add)."""
    m = make_model([helper.make_node("Add", ["a", "b"], ["y"])],
                   [tensor_info("a", TensorProto.FLOAT, ["N", 3]), tensor_info("b", TensorProto.FLOAT, ["N", 3])],
                   [tensor_info("y", TensorProto.FLOAT, ["N", 3])])
    so = path("add.so")
    ok([QKC, "compile", save(m, path("add.onnx")), "-o", so])
    a, b = np.ones((2, 3), np.float32), np.full((4, 3), 2, np.float32)
    with qkrt.load(so) as mod:
        same = mod.run({"a": a, "b": b[:2]})["y"]
        expect((same == 3).all(), "a + b: %s" % same)
        for call, message in [(lambda: mod.run({"a": a, "b": b}), "input 'b' has batch 4, another input 2"),
                              (lambda: mod.run({"a": a}), "input 'b' is missing"),
                              (lambda: mod.run(a), "the model has 2 inputs")]:
            try:
                call()
            except qkrt.InputError as e:
                expect(message in str(e), "want %r, got %r" % (message, str(e)))
            else:
                raise Failure("no InputError for %r" % message)


def bench():
    so = compiled("cnn", "cnn.onnx")
    r = ok(PY + ["bench", so, "--iters", "25", "--batch", "4", "--json"], env=ENV)
    s = json.loads(r.out)
    expect(s["iters"] == 25 and s["batch"] == 4 and 0 < s["min_us"] <= s["median_us"] <= s["p90_us"],
           "bench: %s" % s)
    return "median %.1f us at batch 4" % s["median_us"]


for case in CASES:
    suite.check("%s: = qkc run bit for bit" % case, same_as_qkc_run, case)
suite.check("bad inputs: InputError, qkc run's messages", errors)
suite.check("inputs of different batches", batches)
suite.check("python3 -m qkrt bench --json", bench)
suite.finish()
