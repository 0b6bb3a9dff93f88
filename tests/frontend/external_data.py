#!/usr/bin/python3
"""external_data.py -- models whose tensors are stored outside the .onnx
(data_location EXTERNAL, how large models ship weights), end to end through
the qkc command.

Good models, saved by onnx.save_model(save_as_external_data=True, ...):
each compiles, and its artifact's outputs equal, bit for bit, those of the
same model with its data embedded (the bundled MLP and CNN; a model whose
Constant and ConstantOfShape values are external too; data in a subfolder;
a symlink that stays in the model's folder; a tensor without a length).
Bad ones, made by editing the protobuf fields: each must exit 1 with a
message naming the initializer and the reason, and no crash or hang
(absolute paths, '..', symlinks out, missing files, folders, FIFOs, offsets
and lengths that do not fit the file or the tensor, malformed numbers).

    external_data.py QKC SOURCE_DIR WORK_DIR [-v]"""
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, _ = paths_from_argv(__doc__)
MODELS = os.path.join(SRC, "models")
X = os.path.join(MODELS, "digits_test_x.npy")
F = TensorProto.FLOAT

suite = Suite("external_data")


def fresh(name):
    """An empty folder WORK/name."""
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def save_external(model, folder, name="model.onnx", location="model.data", convert_attribute=False):
    """Save with every tensor in one external file; return the model's path."""
    path = os.path.join(folder, name)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                    size_threshold=0, convert_attribute=convert_attribute)
    return path


def external_tensors(path):
    m = onnx.load(path, load_external_data=False)
    return [t for t in m.graph.initializer if t.data_location == TensorProto.EXTERNAL]


def compile_and_run(model, folder, tag, inputs):
    so = os.path.join(folder, tag + ".so")
    ok([QKC, "compile", model, "-o", so])
    out = os.path.join(folder, tag + "-out")
    ok([QKC, "run", so, *sum((["--input", i] for i in inputs), []), "--output-dir", out])
    return {f: load_npy(os.path.join(out, f)) for f in sorted(os.listdir(out))}


def same_as_embedded(model_file, embedded_file, folder, inputs):
    """The external-data model's outputs equal the embedded model's, bit for bit."""
    a = compile_and_run(model_file, folder, "external", inputs)
    b = compile_and_run(embedded_file, folder, "embedded", inputs)
    expect(sorted(a) == sorted(b) and a, "different outputs: %s vs %s" % (sorted(a), sorted(b)))
    for k in a:
        expect(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes(),
               "output %s differs from the embedded model's" % k)
    return "%d outputs equal" % len(a)


def case(name):
    def deco(fn):
        suite.check(name, fn)
        return fn
    return deco


W = (np.arange(12, dtype=np.float32).reshape(4, 3) - 5) / 4  # the initializer 'w': 48 bytes


def one_tensor_model():
    """x[N,4] -> MatMul w[4,3] -> y[N,3]."""
    return make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                      [tensor_info("x", F, ["N", 4])], [tensor_info("y", F, ["N", 3])], [const("w", W)])


def external(m, folder, name, raw=False, **entries):
    """m with initializer 'w' made external: the given key/value entries in
    this order (values as strings, None: the key is left out)."""
    m = onnx.ModelProto.FromString(m.SerializeToString())
    t = m.graph.initializer[0]
    if not raw:
        t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in entries.items():
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, v
    return save(m, os.path.join(folder, name))


# ---- good models ---------------------------------------------------------------

def bundled(name):
    folder = fresh("good-" + name)
    src = os.path.join(MODELS, name + ".onnx")
    m = onnx.load(src)
    path = save_external(m, folder)
    expect(len(external_tensors(path)) == len(m.graph.initializer) > 0, "onnx wrote no external tensors")
    data = os.path.join(folder, "model.data")
    expect(os.path.getsize(path) < os.path.getsize(data) / 4, "the weights are still in the .onnx")
    return same_as_embedded(path, src, folder, [X])


case("the MLP with its weights in model.data")(lambda: bundled("mlp"))
case("the CNN with its weights in model.data")(lambda: bundled("cnn"))


def constants_model():
    """x[2,6] -> Reshape(Constant shape) -> Add(ConstantOfShape) -> MatMul(w) -> y."""
    nodes = [helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.int64([3, 4]), "shape")),
             helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Constant", [], ["cs"], value=numpy_helper.from_array(np.int64([3, 4]), "cs")),
             helper.make_node("ConstantOfShape", ["cs"], ["half"],
                              value=numpy_helper.from_array(np.float32([0.5]), "v")),
             helper.make_node("Add", ["r", "half"], ["a"]),
             helper.make_node("MatMul", ["a", "w"], ["y"])]
    w = const("w", (np.arange(20, dtype=np.float32).reshape(4, 5) - 7) / 8)
    return make_model(nodes, [tensor_info("x", F, [2, 6])], [tensor_info("y", F, [3, 5])], [w])


@case("Constant and ConstantOfShape values external too")
def _():
    folder = fresh("good-constants")
    m = constants_model()
    emb = save(m, os.path.join(folder, "embedded.onnx"))
    path = save_external(m, folder, convert_attribute=True)
    ext = onnx.load(path, load_external_data=False)
    n = sum(a.t.data_location == TensorProto.EXTERNAL for nd in ext.graph.node for a in nd.attribute if a.t.name
            or a.type == onnx.AttributeProto.TENSOR)
    expect(n == 3, "expected 3 external attribute tensors, onnx wrote %d" % n)
    xs = os.path.join(folder, "x.npy")
    np.save(xs, np.arange(12, dtype=np.float32).reshape(2, 6))
    return same_as_embedded(path, emb, folder, [xs])


@case("data in a subfolder, and a symlink that stays in the model's folder")
def _():
    folder = fresh("good-subfolder")
    os.makedirs(os.path.join(folder, "weights"))
    src = os.path.join(MODELS, "mlp.onnx")
    path = save_external(onnx.load(src), folder, location="weights/mlp.bin")
    note = same_as_embedded(path, src, folder, [X])
    # the same data through a link inside the folder: allowed
    os.symlink("weights/mlp.bin", os.path.join(folder, "link.bin"))
    m = onnx.load(path, load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "link.bin"
    linked = save(m, os.path.join(folder, "linked.onnx"))
    a = compile_and_run(linked, folder, "linked", [X])
    b = compile_and_run(src, folder, "embedded2", [X])
    expect(all(a[k].tobytes() == b[k].tobytes() for k in b), "the linked model's outputs differ")
    return note


@case("a tensor without a length: the rest of the file")
def _():
    folder = fresh("good-nolength")
    m = one_tensor_model()
    emb = save(m, os.path.join(folder, "embedded.onnx"))
    with open(os.path.join(folder, "w.bin"), "wb") as f:
        f.write(b"\0" * 100 + W.tobytes())
    path = external(m, folder, "nolength.onnx", location="w.bin", offset="100")
    xs = os.path.join(folder, "x.npy")
    np.save(xs, np.ones((2, 4), np.float32))
    return same_as_embedded(path, emb, folder, [xs])


# ---- bad ones -------------------------------------------------------------------

BAD = fresh("bad")
with open(os.path.join(BAD, "w.bin"), "wb") as f:  # 48 bytes of w at offset 16, 64 in all
    f.write(b"\x01" * 16 + W.tobytes())
os.makedirs(os.path.join(BAD, "adir"))
OUTSIDE = fresh("outside")
with open(os.path.join(OUTSIDE, "secret.bin"), "wb") as f:
    f.write(W.tobytes())
os.symlink(os.path.join(OUTSIDE, "secret.bin"), os.path.join(BAD, "link_out.bin"))
os.symlink(os.path.join("..", "outside"), os.path.join(BAD, "dir_out"))
os.mkfifo(os.path.join(BAD, "fifo"))


def refused(name, pattern, **entries):
    """The model with these entries fails: exit 1, '<model>: error:
    initializer 'w': <pattern>'."""
    def check():
        model = external(one_tensor_model(), BAD, name + ".onnx", **entries)
        r = run([QKC, "compile", model, "-o", os.path.join(BAD, "out.so")])
        expect(r.rc == 1, "expected exit status 1", r)
        expect("internal error" not in r.err, "bad input reported as a compiler bug", r)
        want = re.escape(model) + r": error: initializer 'w': " + pattern
        expect(re.search(want, r.err) is not None, "stderr does not match /%s/" % want, r)
        return r.err.strip().splitlines()[0]
    suite.check(name, check)


refused("absolute path", r"external data location '/[^']*w\.bin' is an absolute path",
        location=os.path.join(BAD, "w.bin"), offset="16", length="48")
refused("dotdot", r"external data location '\.\./outside/secret\.bin' leaves the model's folder",
        location="../outside/secret.bin", length="48")
refused("dotdot inside the path", r"external data location 'adir/\.\./\.\./outside/secret\.bin' leaves the "
        r"model's folder", location="adir/../../outside/secret.bin", length="48")
refused("dotdot that stays inside", r"external data location 'adir/\.\./w\.bin' has a '\.\.' component",
        location="adir/../w.bin", offset="16", length="48")
refused("symlink out", r"external data location 'link_out\.bin' leaves the model's folder \(it resolves to "
        r"/.*/outside/secret\.bin\)", location="link_out.bin", length="48")
refused("folder symlinked out", r"external data location 'dir_out/secret\.bin' leaves the model's folder",
        location="dir_out/secret.bin", length="48")
refused("missing file", r"external data location 'nothere\.bin': cannot open .*nothere\.bin: No such file",
        location="nothere.bin", length="48")
refused("a folder", r"external data location 'adir' is not a regular file", location="adir", length="48")
refused("a FIFO", r"external data location 'fifo' is not a regular file", location="fifo", length="48")
refused("offset beyond the end", r"external data offset 65 is beyond the end of 'w\.bin' \(64 bytes\)",
        location="w.bin", offset="65", length="48")
refused("offset + length beyond the end", r"external data at offset 20, length 48, runs past the end of "
        r"'w\.bin' \(64 bytes\)", location="w.bin", offset="20", length="48")
refused("length unlike the tensor's", r"external data length 40 does not match the 48 bytes of the tensor's type "
        r"and dims", location="w.bin", offset="16", length="40")
refused("no length, rest unlike the tensor", r"external data without a length is the rest of 'w\.bin' from "
        r"offset 0, 64 bytes, not the 48 bytes", location="w.bin")
refused("negative offset", r"external data offset '-16' is not a byte count", location="w.bin", offset="-16",
        length="48")
refused("huge offset", r"external data offset '99999999999999999999' is not a byte count", location="w.bin",
        offset="99999999999999999999", length="48")
refused("largest offset", r"external data offset 9223372036854775807 is beyond the end", location="w.bin",
        offset="9223372036854775807", length="48")
refused("huge length", r"external data length 9223372036854775807 does not match the 48 bytes",
        location="w.bin", offset="16", length="9223372036854775807")
refused("offset not a number", r"external data offset '16 ' is not a byte count", location="w.bin",
        offset="16 ", length="48")
refused("no location", r"external data without a 'location'", offset="16", length="48")
refused("empty location", r"external data without a 'location'", location="", length="48")


@case("a key given twice")
def _():
    model = external(one_tensor_model(), BAD, "twice.onnx", location="w.bin", offset="16", length="48")
    m = onnx.load(model, load_external_data=False)
    e = m.graph.initializer[0].external_data.add()
    e.key, e.value = "offset", "0"
    save(m, model)
    r = run([QKC, "compile", model, "-o", os.path.join(BAD, "out.so")])
    expect(r.rc == 1 and re.search(r"initializer 'w': external data key 'offset' is given twice", r.err), "", r)
    return r.err.strip().splitlines()[0]


@case("raw_data and external data")
def _():
    model = external(one_tensor_model(), BAD, "both.onnx", raw=True, location="w.bin", offset="16", length="48")
    r = run([QKC, "compile", model, "-o", os.path.join(BAD, "out.so")])
    expect(r.rc == 1 and re.search(r"initializer 'w': both raw_data and external data", r.err), "", r)
    return r.err.strip().splitlines()[0]


@case("checksum and unknown keys are ignored; the good entries compile")
def _():
    model = external(one_tensor_model(), BAD, "checksum.onnx", location="w.bin", offset="16", length="48",
                     checksum="not checked", basepath="ignored")
    ok([QKC, "compile", model, "-o", os.path.join(BAD, "checksum.so")])


@case("every bad tensor of a model is reported")
def _():
    m = one_tensor_model()
    m.graph.initializer.append(const("unused", W))
    model = external(m, BAD, "two.onnx", location="../x.bin")
    mm = onnx.load(model, load_external_data=False)
    t = mm.graph.initializer[1]
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "/abs.bin"
    save(mm, model)
    r = run([QKC, "compile", model, "-o", os.path.join(BAD, "out.so")])
    expect(r.rc == 1 and "initializer 'w': external data location '../x.bin' leaves" in r.err and
           "initializer 'unused': external data location '/abs.bin' is an absolute path" in r.err, "", r)


suite.finish()
