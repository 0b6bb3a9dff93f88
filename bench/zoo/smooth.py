#!/usr/bin/env python3
"""smooth.py -- what --smooth (SmoothQuant) does for static int8 on a
transformer with activation outliers (issue 10).

Trained large language models carry a few activation channels 10-100x
larger than the rest, right after their LayerNorms; the zoo's transformers
have random weights and none. This script makes them: in the zoo's GPT-2
(opset 17, bench/zoo/build_models.py; pre-LN, so each LayerNorm output feeds
only the next projection) it multiplies the LayerNorm scale and bias of
--channels channels by --factor and divides the matching rows of the
projection's weight by it -- the same function (ORT fp32 checks it), with
outliers where real models have them. Then, on the zoo's test batch:

  qkc   --precision int8 (the zoo's calibration samples), without and with
        --smooth ALPHA for each --alpha;
  ORT   quantize_static (QDQ, MinMax, per-channel QInt8, QUInt8, as zoo.py).

Top-1 agreement over the last axis and SQNR against ORT fp32 of the same
model, for the original model and the one with outliers. Prints a Markdown
table with the CPU.

    python3 bench/zoo/smooth.py [--build BUILD] [--work DIR] [--model gpt2] [--factor 30] [--channels 4]
                                [--alpha 0.5,0.8]"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import zoo  # noqa: E402


def with_outliers(src, dst, factor, nch, seed=5):
    """LayerNorm -> (Reshape) -> MatMul/Gemm(constant W, not transposed): scale
    and bias of nch channels times factor, W's rows of those channels / factor."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    ident = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity"}

    def own(node, k):
        """Input k of node as an initializer of its own (the exporter shares equal
        tensors through Identity nodes): its array, and the node now reads it."""
        name = node.input[k]
        while name not in inits and name in ident:
            name = ident[name]
        if name not in inits:
            return None
        a = numpy_helper.to_array(inits[name]).copy()
        new = "%s__outliers_%d" % (node.input[k], len(inits))
        t = numpy_helper.from_array(a, new)
        g.initializer.append(t)
        inits[new] = g.initializer[-1]
        node.input[k] = new
        return a

    rng = np.random.RandomState(seed)
    done = 0
    for ln in g.node:
        if ln.op_type != "LayerNormalization" or len(ln.input) < 3:
            continue
        y, prods = ln.output[0], []
        for u in users.get(y, []):
            if u.op_type == "Reshape":
                prods += users.get(u.output[0], [])
            elif u.op_type not in ("Shape",):
                prods.append(u)
        ok = prods and all(p.op_type in ("MatMul", "Gemm") and
                           (p.input[1] in inits or p.input[1] in ident) and
                           not any(a.name == "transB" and a.i for a in p.attribute) for p in prods)
        if not ok:
            continue
        gam, bet = own(ln, 1), own(ln, 2)
        ws = [own(p, 1) for p in prods]
        if gam is None or bet is None or any(w is None or w.ndim != 2 for w in ws):
            continue
        ch = rng.choice(len(gam), nch, replace=False)
        gam[ch] *= factor
        bet[ch] *= factor
        inits[ln.input[1]].CopyFrom(numpy_helper.from_array(gam, ln.input[1]))
        inits[ln.input[2]].CopyFrom(numpy_helper.from_array(bet, ln.input[2]))
        for p, w in zip(prods, ws):
            w[ch, :] /= factor
            inits[p.input[1]].CopyFrom(numpy_helper.from_array(w, p.input[1]))
        done += 1
    onnx.save(m, dst)
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", help="default BUILD/zoo-work (shared with make zoo)")
    ap.add_argument("--model", default="gpt2")
    ap.add_argument("--factor", type=float, default=30.0)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--alpha", default="0.5,0.8")
    args = ap.parse_args()
    zoo.bootstrap()
    import numpy as np
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.work or os.path.join(build, "zoo-work"))
    mdir, sdir = os.path.join(work, "models"), os.path.join(work, "smooth")
    os.makedirs(sdir, exist_ok=True)
    os.chdir(sdir)
    qkc = os.path.join(build, "qkc")
    p = subprocess.run([zoo.DEBIAN_PY, os.path.join(HERE, "build_models.py"), mdir, "--models", args.model])
    if p.returncode != 0:
        sys.exit("smooth: building the model failed")
    with open(os.path.join(mdir, "manifest.json")) as f:
        e = json.load(f)["models"][args.model]
    src = os.path.join(mdir, e["onnx"]["17"])
    out = os.path.join(sdir, "%s_outliers.onnx" % args.model)
    nln = with_outliers(src, out, args.factor, args.channels)
    names = [o["name"] for o in e["outputs"]]
    x = {i["name"]: os.path.join(mdir, i["file"]) for i in e["inputs"]}
    cal = {i["name"]: os.path.join(mdir, i["calib"]) for i in e["inputs"]}
    feeds = {k: np.load(v) for k, v in x.items()}
    dims = ["--dim", ",".join("%s=%d" % kv for kv in e.get("dims", {}).items())] if e.get("dims") else []
    calib = sum((["--calib", "%s=%s" % kv] for kv in cal.items()), [])
    alphas = [float(a) for a in args.alpha.split(",")]
    rows, failed = [], 0
    base = None
    for tag, model in (("original", src), ("outliers x%g on %d channels of %d LayerNorms" % (
            args.factor, args.channels, nln), out)):
        ref = dict(zip(names, zoo.ort_session(model).run(names, feeds)))
        if base is None:
            base = ref
        else:  # the same function
            err = zoo.rel_err(ref, base)
            tag += " (ORT fp32 within %.1e of the original)" % err
        cells = []
        for opts in [[]] + [["--smooth", str(a)] for a in alphas]:
            so = os.path.join(sdir, "m.so")
            d = os.path.join(sdir, "out")
            os.makedirs(d, exist_ok=True)
            r = subprocess.run([qkc, "compile", model, "-o", so, "--precision", "int8"] + dims + calib + opts,
                               capture_output=True, text=True)
            r2 = r.returncode == 0 and subprocess.run([qkc, "run", so, "-d", d] + sum(
                (["-i", "%s=%s" % kv] for kv in x.items()), []), capture_output=True, text=True)
            if r.returncode != 0 or r2.returncode != 0:
                print("smooth: qkc failed:\n" + (r.stderr + (r2.stderr if r2 else ""))[-1500:])
                failed = 1
                cells.append("fail")
                continue
            a, s = zoo.agree_sqnr({k: np.load(os.path.join(d, k + ".npy")) for k in names}, ref)
            cells.append("%.1f%% / %.1f" % (100 * a, s))
        q = os.path.join(sdir, "ort_int8.onnx")
        note = zoo.ort_quantize(model, q, {k: np.load(v) for k, v in cal.items()})
        a, s = zoo.agree_sqnr(dict(zip(names, zoo.ort_session(q).run(names, feeds))), ref)
        cells.append("%.1f%% / %.1f%s" % (100 * a, s, " (%s)" % note if note else ""))
        rows.append("| %s | %s |" % (tag, " | ".join(cells)))
    cpu = "%s (%s)" % zoo.cpu_summary()
    head = ["%s, static int8 (top-1 agreement / SQNR dB against ORT fp32 of the same model; %s)" % (args.model, cpu),
            "", "| model | qkc int8 | %s | ORT quantize_static |" % " | ".join("qkc int8 --smooth %g" % a
                                                                               for a in alphas),
            "|---|" + "---:|" * (len(alphas) + 2)]
    print("\n".join(head + rows))
    return failed


if __name__ == "__main__":
    sys.exit(main())
