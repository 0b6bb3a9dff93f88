"""Shared by bench/perf.py, bench/e2e_peers.py and bench/e2e_torch.py: the qkc
runtime through ctypes, and the alternating timer. Needs numpy only."""
import ctypes
import json
import os
import shutil
import subprocess
import time

import numpy as np


class QkcFailure(Exception):
    pass


def build_qkrt_so(build, out_dir):
    """libqkrt as a shared library for ctypes: BUILD/runtime/libqkrt.a linked whole
    into OUT_DIR/libqkrt.so (once). Returns the path; raises QkcFailure."""
    out = os.path.join(out_dir, "libqkrt.so")
    a = os.path.join(build, "runtime", "libqkrt.a")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(a):
        return out
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise QkcFailure("no C compiler to link libqkrt.a into a shared library")
    p = subprocess.run([cc, "-shared", "-o", out, "-Wl,--whole-archive", a, "-Wl,--no-whole-archive", "-ldl",
                        "-lpthread"], capture_output=True, text=True)
    if p.returncode != 0:
        raise QkcFailure(f"linking {a} into a shared library failed: {p.stderr.strip()}")
    return out


class Qkrt:
    """The qkc runtime (include/qkc/qkrt.h) through ctypes."""

    def __init__(self, lib_path):
        L = ctypes.CDLL(lib_path)
        vp, i64, sz = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
        L.qkrt_error_message.restype = ctypes.c_char_p
        L.qkrt_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        L.qkrt_context_create.argtypes = [vp, ctypes.POINTER(vp)]
        L.qkrt_context_set_threads.argtypes = [vp, ctypes.c_int]
        L.qkrt_context_reserve.argtypes = [vp, i64]
        L.qkrt_context_free.argtypes = [vp]
        L.qkrt_model_free.argtypes = [vp]
        L.qkrt_run.argtypes = [vp, i64, ctypes.POINTER(vp), ctypes.POINTER(sz), ctypes.POINTER(vp),
                               ctypes.POINTER(sz)]
        self.L = L
        self.open_ = []

    def check(self, st, what):
        if st != 0:
            raise QkcFailure(f"{what}: status {st}: {self.L.qkrt_error_message().decode()}")

    def runner(self, so, x, out_shape, threads):
        """A no-argument callable running the artifact on x (one input, one f32
        output of out_shape) with `threads` threads; returns (callable, output array)."""
        m, c = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.L.qkrt_model_load(so.encode(), ctypes.byref(m)), f"qkrt_model_load {so}")
        self.check(self.L.qkrt_context_create(m, ctypes.byref(c)), "qkrt_context_create")
        self.check(self.L.qkrt_context_set_threads(c, threads), "qkrt_context_set_threads")
        self.check(self.L.qkrt_context_reserve(c, x.shape[0]), "qkrt_context_reserve")
        self.open_.append((m, c))
        x = np.ascontiguousarray(x)
        out = np.empty(out_shape, np.float32)
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        ins = (vp * 1)(x.ctypes.data)
        inb = (sz * 1)(x.nbytes)
        outs = (vp * 1)(out.ctypes.data)
        outb = (sz * 1)(out.nbytes)
        # the closure must keep x and out alive: qkrt_run writes through the raw
        # pointers (a caller that drops or copies the returned array would
        # otherwise let qkc write into freed memory)
        run, batch, L, keep = self.L.qkrt_run, ctypes.c_int64(x.shape[0]), self, (x, out, ins, inb, outs, outb)

        def f():
            st = run(c, batch, ins, inb, outs, outb)
            if st != 0:
                L.check(st, "qkrt_run")
        f.keep = keep
        f()
        return f, out

    def close_all(self):
        for m, c in self.open_:
            self.L.qkrt_context_free(c)
            self.L.qkrt_model_free(m)
        self.open_ = []


def alternate(fns, rounds=5, block_s=0.05, min_calls=3, cooldown_s=0.0):
    """Time each callable of the dict fns (name -> f), alternating: every round
    runs each for block_s seconds (at least min_calls calls), the order rotated
    each round; after one untimed warm-up block each. cooldown_s of sleep after
    each block (use it with several threads: lets the worker threads of the
    one before, which spin a while after a call, go idle). Returns name ->
    (median s, min s, samples)."""
    names = list(fns)
    pc = time.perf_counter_ns
    for n in names:
        end = time.perf_counter() + block_s / 2
        fns[n]()
        while time.perf_counter() < end:
            fns[n]()
        time.sleep(cooldown_s)
    ts = {n: [] for n in names}
    for r in range(rounds):
        for j in range(len(names)):
            n = names[(j + r) % len(names)]
            f, t = fns[n], ts[n]
            end = time.perf_counter() + block_s
            k = 0
            while k < min_calls or time.perf_counter() < end:
                t0 = pc()
                f()
                t.append(pc() - t0)
                k += 1
            time.sleep(cooldown_s)
    return {n: (float(np.median(t)) * 1e-9, float(np.min(t)) * 1e-9, len(t)) for n, t in ts.items()}


def sqnr_db(ref, y):
    ref = np.asarray(ref, np.float64)
    err = float(((np.asarray(y, np.float64) - ref) ** 2).sum())
    return float("inf") if err == 0 else 10 * np.log10(float((ref ** 2).sum()) / err)


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
