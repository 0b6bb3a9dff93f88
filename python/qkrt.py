"""qkrt -- run models compiled by qkc from Python: ctypes over the shared
runtime (libqkrt.so), NumPy arrays in and out, no compiled extension.

    import qkrt
    m = qkrt.load("cnn.so", threads=1)
    m.inputs                      # [Tensor(name='input', dtype=float32, shape=(None, 1, 8, 8), ...)]
    y = m.run(x)["logits"]        # or m.run({"input": x}): a dict name -> array

    python3 -m qkrt run cnn.so -i input=x.npy -d out     # like `qkc run`
    python3 -m qkrt bench cnn.so --batch 8 --json        # like `qkc bench`

The inputs are checked as `qkc run` checks them: every input given once,
its dtype the model's (no silent conversion), its shape the model's with
any batch (the leading dim of a model whose batch is dynamic; the same
batch for every input). A wrong input raises qkrt.InputError (a ValueError)
naming the tensor, what it got and what the model wants; a failure of the
runtime raises qkrt.Error with the runtime's message. NumPy has no
bfloat16: bfloat16 tensors are uint16 arrays of their bits.

The runtime library is $QKRT_LIBRARY if set, else libqkrt.so.0 in the
installed tree this file belongs to (PREFIX/share/qkc/python/qkrt.py ->
PREFIX/lib...), else whatever the dynamic loader finds. A model object may
be shared by threads: its runs are serialized (one context); load the model
once per thread to run in parallel."""
import argparse
import collections
import ctypes
import json
import os
import sys
import sysconfig
import threading
import time

import numpy as np

__all__ = ["load", "Model", "Tensor", "Error", "InputError"]

QKRT_DIM_BATCH = -1
# ONNX TensorProto codes (qkrt_abi.h) -> NumPy dtypes; bfloat16 as its uint16 bits.
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
          9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64, 16: np.uint16}
NAMES = {1: "f32", 2: "u8", 3: "i8", 4: "u16", 5: "i16", 6: "i32", 7: "i64", 9: "bool", 10: "f16", 11: "f64",
         12: "u32", 13: "u64", 16: "bf16"}


class Error(Exception):
    """A failure of the runtime: status is its name (QKRT_ERR_IO, ...)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InputError(Error, ValueError):
    """Inputs that do not fit the model (missing, unknown, wrong dtype or shape)."""


class _TensorDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("scale", ctypes.c_double),
                ("zero_point", ctypes.c_int32)]


class _ArtifactHead(ctypes.Structure):
    """The first fields of qkrt_artifact (qkrt_abi.h), the ones read here."""
    _fields_ = [("magic", ctypes.c_uint32), ("abi_version", ctypes.c_uint32), ("target", ctypes.c_char_p),
                ("cpu", ctypes.c_char_p), ("model_name", ctypes.c_char_p), ("producer", ctypes.c_char_p)]


_lib = None
_lib_lock = threading.Lock()


def _library_candidates():
    env = os.environ.get("QKRT_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    prefix = os.path.normpath(os.path.join(here, "..", "..", ".."))
    dirs = ["lib", "lib64"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs.insert(1, os.path.join("lib", multiarch))
    found = [os.path.join(prefix, d, "libqkrt.so.0") for d in dirs]
    return [p for p in found if os.path.exists(p)] + ["libqkrt.so.0"]


def _library():
    """libqkrt.so, loaded once, with the signatures of qkrt.h."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in _library_candidates():
            try:
                lib = ctypes.CDLL(path)
                break
            except OSError as e:
                tried.append(str(e))
        else:
            raise Error("cannot load the qkc runtime (set QKRT_LIBRARY to libqkrt.so's path): " + "; ".join(tried))
        p, i64, sz = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
        desc = ctypes.POINTER(_TensorDesc)
        sigs = {
            "qkrt_error_message": (ctypes.c_char_p, []),
            "qkrt_status_name": (ctypes.c_char_p, [ctypes.c_int]),
            "qkrt_model_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(p)]),
            "qkrt_model_free": (None, [p]),
            "qkrt_model_artifact": (ctypes.POINTER(_ArtifactHead), [p]),
            "qkrt_model_num_inputs": (ctypes.c_int, [p]),
            "qkrt_model_num_outputs": (ctypes.c_int, [p]),
            "qkrt_model_input": (desc, [p, ctypes.c_int]),
            "qkrt_model_output": (desc, [p, ctypes.c_int]),
            "qkrt_tensor_bytes": (sz, [desc, i64]),
            "qkrt_context_create": (ctypes.c_int, [p, ctypes.POINTER(p)]),
            "qkrt_context_free": (None, [p]),
            "qkrt_context_set_threads": (ctypes.c_int, [p, ctypes.c_int]),
            "qkrt_context_reserve": (ctypes.c_int, [p, i64]),
            "qkrt_run": (ctypes.c_int, [p, i64, ctypes.POINTER(p), ctypes.POINTER(sz), ctypes.POINTER(p),
                                        ctypes.POINTER(sz)]),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib = lib
        return lib


def _check(status):
    if status != 0:
        lib = _library()
        raise Error(lib.qkrt_error_message().decode(errors="replace"),
                    lib.qkrt_status_name(status).decode())


Tensor = collections.namedtuple("Tensor", "name dtype shape code scale zero_point")
Tensor.__doc__ = """An input or output: name, NumPy dtype, shape (None for a batch chosen per
run), the ONNX dtype code, and for a quantized tensor (qkc compile --io
int8) its scale and zero point (real = scale * (q - zero_point); scale 0:
not quantized)."""


def _tensor(d):
    dims = tuple(d.dims[k] for k in range(d.rank))
    shape = tuple(None if k == 0 and v == QKRT_DIM_BATCH else v for k, v in enumerate(dims))
    dtype = DTYPES.get(d.dtype)
    return Tensor(d.name.decode(), np.dtype(dtype) if dtype else None, shape, d.dtype, d.scale, d.zero_point)


def _shape_str(shape):
    return "[" + ",".join("N" if v is None else str(v) for v in shape) + "]"


class Model:
    """A compiled model loaded by the runtime, with one context to run it."""

    def __init__(self, path, threads=None):
        lib = _library()
        self.path = os.fspath(path)
        self._lib, self._m, self._c = lib, ctypes.c_void_p(), ctypes.c_void_p()
        self._lock = threading.Lock()
        _check(lib.qkrt_model_load(os.fsencode(self.path), ctypes.byref(self._m)))
        try:
            _check(lib.qkrt_context_create(self._m, ctypes.byref(self._c)))
            if threads is not None:
                _check(lib.qkrt_context_set_threads(self._c, int(threads)))
        except Error:
            self.close()
            raise
        self._in_desc = [lib.qkrt_model_input(self._m, i) for i in range(lib.qkrt_model_num_inputs(self._m))]
        self._out_desc = [lib.qkrt_model_output(self._m, i) for i in range(lib.qkrt_model_num_outputs(self._m))]
        self.inputs = [_tensor(d.contents) for d in self._in_desc]
        self.outputs = [_tensor(d.contents) for d in self._out_desc]
        head = lib.qkrt_model_artifact(self._m).contents
        self.target, self.cpu = head.target.decode(), head.cpu.decode()
        self.threads = threads

    def close(self):
        """Free the context and the model (also done when the object goes)."""
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        if self._c:
            lib.qkrt_context_free(self._c)
            self._c = ctypes.c_void_p()
        if self._m:
            lib.qkrt_model_free(self._m)
            self._m = ctypes.c_void_p()

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<qkrt.Model %s (%s, cpu %s): %s -> %s>" % (
            self.path, self.target, self.cpu, ", ".join("%s %s" % (t.name, _shape_str(t.shape)) for t in self.inputs),
            ", ".join("%s %s" % (t.name, _shape_str(t.shape)) for t in self.outputs))

    def prepare(self, inputs, source="the array"):
        """The inputs as C-contiguous arrays in declaration order, and the
        batch, checked as `qkc run` checks them (InputError otherwise).
        inputs: an array (a one-input model) or a dict name -> array."""
        given = [None] * len(self.inputs)
        if isinstance(inputs, dict):
            names = [t.name for t in self.inputs]
            for name, x in inputs.items():
                if name not in names:
                    raise InputError("the model has no input '%s' (inputs: %s)" %
                                     (name, " ".join("'%s'" % n for n in names)))
                given[names.index(name)] = x
        elif len(self.inputs) == 1:
            given[0] = inputs
        else:
            raise InputError("the model has %d inputs; pass a dict name -> array" % len(self.inputs))
        batch, arrays = None, []
        for t, x in zip(self.inputs, given):
            if x is None:
                raise InputError("input '%s' is missing" % t.name)
            x = np.asarray(x)
            got = _shape_str(x.shape)
            code = t.code
            if x.dtype.newbyteorder("=") != t.dtype:
                have = next((c for c, d in DTYPES.items() if np.dtype(d) == x.dtype.newbyteorder("=")), None)
                msg = "input '%s': %s holds %s %s, the model wants %s %s" % (
                    t.name, source, NAMES.get(have, str(x.dtype)), got, NAMES.get(code, "?"), _shape_str(t.shape))
                if t.scale > 0:
                    msg += (" quantized with scale %.9g and zero point %d (it was compiled with --io int8: "
                            "q = saturate(round_half_even(x / scale) + zero_point))" % (t.scale, t.zero_point))
                raise InputError(msg)
            has_batch = len(t.shape) > 0 and t.shape[0] is None
            fits = x.ndim == len(t.shape) and all(
                (x.shape[k] >= 1) if (k == 0 and has_batch) else x.shape[k] == v for k, v in enumerate(t.shape))
            if not fits:
                raise InputError("input '%s': %s has shape %s, the model wants %s" %
                                 (t.name, source, got, _shape_str(t.shape)))
            if has_batch:
                if batch is not None and x.shape[0] != batch:
                    raise InputError("input '%s' has batch %d, another input %d" % (t.name, x.shape[0], batch))
                batch = x.shape[0]
            arrays.append(np.ascontiguousarray(x, dtype=t.dtype))
        return arrays, (batch if batch is not None else 1)

    def _buffers(self, arrays, batch):
        """Outputs for a batch and the pointer and size arrays of a qkrt_run."""
        outs = [np.empty(tuple(batch if v is None else v for v in t.shape), t.dtype) for t in self.outputs]
        p, sz = ctypes.c_void_p, ctypes.c_size_t
        call = ((p * max(1, len(arrays)))(*[a.ctypes.data for a in arrays]),
                (sz * max(1, len(arrays)))(*[a.nbytes for a in arrays]),
                (p * max(1, len(outs)))(*[o.ctypes.data for o in outs]),
                (sz * max(1, len(outs)))(*[o.nbytes for o in outs]))
        return outs, call

    def _run(self, batch, call):
        with self._lock:
            if not self._c:
                raise Error("the model is closed")
            _check(self._lib.qkrt_run(self._c, batch, *call))

    def run(self, inputs):
        """Run once; returns a dict output name -> array (a new array each run)."""
        arrays, batch = self.prepare(inputs)
        outs, call = self._buffers(arrays, batch)
        self._run(batch, call)
        return {t.name: o for t, o in zip(self.outputs, outs)}

    def bench(self, inputs=None, batch=None, iters=None, warmup=None):
        """Time runs as `qkc bench` does: inputs not given are generated
        (floats in [0, 1), small non-negative integers); a warm-up (warmup
        runs, or at least 3 and up to 0.1 s), then iters runs (default: about
        1 s of them) each timed on its own. Returns the statistics in
        microseconds."""
        inputs = dict(inputs or {})
        for t in self.inputs:  # the batch of the inputs given, if they have one
            if t.name in inputs and t.shape and t.shape[0] is None and np.ndim(inputs[t.name]):
                b = np.shape(inputs[t.name])[0]
                if batch is not None and b != batch:
                    raise InputError("input '%s' has batch %d, --batch says %d" % (t.name, b, batch))
                batch = b
        batch = batch or 1
        rng = np.random.default_rng(0x9E3779B9)
        for t in self.inputs:
            if t.name not in inputs:
                shape = tuple(batch if v is None else v for v in t.shape)
                if t.dtype.kind == "f":
                    inputs[t.name] = rng.random(shape, dtype=np.float32).astype(t.dtype)
                elif t.dtype.kind == "b":
                    inputs[t.name] = rng.integers(0, 2, shape).astype(t.dtype)
                else:
                    inputs[t.name] = rng.integers(0, 8, shape).astype(t.dtype)
        arrays, batch = self.prepare(inputs)
        outs, call = self._buffers(arrays, batch)
        _check(self._lib.qkrt_context_reserve(self._c, batch))
        w0, done = time.perf_counter(), 0
        while (done < warmup) if warmup is not None else (done < 3 or (time.perf_counter() - w0 < 0.1 and done < 1000)):
            self._run(batch, call)
            done += 1
        per = (time.perf_counter() - w0) / done if done else 1e-3
        iters = iters or int(min(100000, max(10, 1.0 / max(per, 1e-9))))
        times = np.empty(iters)
        for i in range(iters):
            t0 = time.perf_counter_ns()
            self._run(batch, call)
            times[i] = (time.perf_counter_ns() - t0) * 1e-3
        med = float(np.median(times))
        threads = self.threads
        if threads is None:  # the runtime's default
            env = os.environ.get("QKRT_NUM_THREADS", "")
            threads = int(env) if env.isdigit() and int(env) > 0 else 1
        return {"artifact": self.path, "target": self.target, "cpu": self.cpu, "batch": batch,
                "threads": threads, "iters": iters,
                "warmup": done, "median_us": med, "min_us": float(times.min()), "mean_us": float(times.mean()),
                "p90_us": float(np.sort(times)[int(np.ceil(0.9 * iters)) - 1]),
                "throughput_per_s": batch * 1e6 / med if med > 0 else 0.0}


def load(path, threads=None):
    """Load an artifact (a .so from qkc compile, for this machine); threads:
    the threads of its runs (default: QKRT_NUM_THREADS or 1)."""
    return Model(path, threads)


# ---- python3 -m qkrt run|bench ----------------------------------------------

def _file_name(name):
    """An output's file name: its name with '/' and control characters replaced (as qkc run does)."""
    s = "".join("_" if c in "/\\" or ord(c) < 32 else c for c in name)
    return s + "_" if not s or (len(s) <= 2 and s[0] == ".") else s


def _read_inputs(model, specs):
    """--input [NAME=]FILE.npy ... as a dict name -> array."""
    names = [t.name for t in model.inputs]
    inputs = {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        if not eq:
            if len(names) != 1:
                raise InputError("--input %s: the model has %d inputs; write NAME=FILE.npy" % (spec, len(names)))
            name, path = names[0], spec
        elif name not in names:
            raise InputError("--input %s: the model has no input '%s' (inputs: %s)" %
                             (spec, name, " ".join("'%s'" % n for n in names)))
        if name in inputs:
            raise InputError("input '%s' is given twice" % name)
        try:
            inputs[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError("%s: %s" % (path, e)) from e
    return inputs


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m qkrt", description="Run or time a model compiled by qkc.")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run on .npy inputs, write DIR/<output>.npy (like qkc run)")
    r.add_argument("artifact")
    r.add_argument("-i", "--input", action="append", default=[], metavar="[NAME=]FILE.npy")
    r.add_argument("-d", "--output-dir", metavar="DIR")
    r.add_argument("--threads", type=int)
    r.add_argument("--repeat", type=int, default=1)
    b = sub.add_parser("bench", help="time runs in process (like qkc bench)")
    b.add_argument("artifact")
    b.add_argument("-i", "--input", action="append", default=[], metavar="[NAME=]FILE.npy")
    b.add_argument("--batch", type=int)
    b.add_argument("--threads", type=int)
    b.add_argument("--iters", type=int)
    b.add_argument("--warmup", type=int)
    b.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for opt in ("threads", "repeat", "batch", "iters"):
        if getattr(a, opt, None) is not None and getattr(a, opt) < 1:
            ap.error("--%s must be >= 1" % opt)
    if getattr(a, "warmup", None) is not None and a.warmup < 0:
        ap.error("--warmup must be >= 0")
    try:
        with load(a.artifact, a.threads) as m:
            inputs = _read_inputs(m, a.input)
            if a.command == "run":
                arrays, batch = m.prepare(inputs, source="the .npy")
                outs, call = m._buffers(arrays, batch)
                for _ in range(a.repeat):
                    m._run(batch, call)
                if a.output_dir:
                    os.makedirs(a.output_dir, exist_ok=True)
                    for t, o in zip(m.outputs, outs):
                        np.save(os.path.join(a.output_dir, _file_name(t.name) + ".npy"), o)
            else:
                s = m.bench(inputs, a.batch, a.iters, a.warmup)
                if a.json:
                    print(json.dumps(s))
                else:
                    print("%s (%s, cpu %s): batch %d, %d thread%s, %d runs after %d warm-up" % (
                        a.artifact, s["target"], s["cpu"], s["batch"], s["threads"], "s" if s["threads"] > 1 else "",
                        s["iters"], s["warmup"]))
                    print("  median %.2f us   min %.2f us   mean %.2f us   p90 %.2f us" %
                          (s["median_us"], s["min_us"], s["mean_us"], s["p90_us"]))
                    print("  throughput %.1f samples/s (%.3f us per sample at the median)" %
                          (s["throughput_per_s"], s["median_us"] / s["batch"]))
    except Error as e:
        print("qkrt %s: %s" % (a.command, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
