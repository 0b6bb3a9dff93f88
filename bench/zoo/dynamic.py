#!/usr/bin/env python3
"""dynamic.py -- qkc --precision int8-dynamic against ONNX Runtime's
quantize_dynamic on the zoo's transformers (issue 10).

For each model (default: bert, distilbert, gpt2, vit_hf, whisper_encoder;
--heldout adds bert_l6_h384, gpt2_l3_h192, distilbert_l3_h512), built by
bench/zoo/build_models.py into WORK/models as `make zoo` does (random
weights, nothing downloaded), on the opset-17 copy:

  qkc   fp32, --precision int8-dynamic (no data), and int8-dynamic with
        --weight-bits 7 (weights in [-64, 64]: x86 CPUs without VNNI run its
        products on pmaddubsw, exactly), run by `qkc run` on the zoo's test
        batch (8 samples);
  ORT   the fp32 model, and quantize_dynamic (QInt8 weights, per channel,
        the transformers' usual choice; and per tensor, its default).

Top-1 agreement (over the last axis) and SQNR against ORT fp32, then
latency at batch 1 on one thread (qkc through libqkrt by ctypes, ORT in
process, timed alternately, medians). Prints a Markdown table with the CPU
and writes it to bench/ZOO-dynamic.md (--no-report: print only).

    python3 bench/zoo/dynamic.py [--build BUILD] [--work DIR] [--models a,b] [--heldout] [--no-report]"""
import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # bench/, for benchlib
import zoo  # noqa: E402  (its helpers: the ORT session, the runner, the timing)

MODELS = ["bert", "distilbert", "gpt2", "vit_hf", "whisper_encoder"]
HELDOUT = ["bert_l6_h384", "gpt2_l3_h192", "distilbert_l3_h512"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", help="default BUILD/zoo-work (shared with make zoo: its models are reused)")
    ap.add_argument("--models")
    ap.add_argument("--heldout", action="store_true")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    zoo.bootstrap()  # onnxruntime: this Python, or bench/zoo/.venv-ort
    import numpy as np
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from benchlib import Qkrt, build_qkrt_so
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.work or os.path.join(build, "zoo-work"))
    mdir = os.path.join(work, "models")
    ddir = os.path.join(work, "dynamic")
    os.makedirs(ddir, exist_ok=True)
    os.chdir(ddir)  # ORT's quantizer leaves temporary files in the current directory
    qkc = os.path.join(build, "qkc")
    if not os.access(qkc, os.X_OK):
        sys.exit("dynamic: %s not found: run `make build` first" % qkc)
    names = args.models.split(",") if args.models else MODELS + (HELDOUT if args.heldout else [])
    p = subprocess.run([zoo.DEBIAN_PY, os.path.join(HERE, "build_models.py"), mdir, "--models", ",".join(names)])
    if p.returncode != 0:
        sys.exit("dynamic: building the models failed")
    with open(os.path.join(mdir, "manifest.json")) as f:
        man = json.load(f)["models"]
    qk = Qkrt(build_qkrt_so(os.path.dirname(qkc), ddir))
    cpu = "%s (%s)" % zoo.cpu_summary()
    rows = ["| model | qkc int8-dynamic top-1 / SQNR dB | qkc with --weight-bits 7 | "
            "ORT dynamic per-channel top-1 / SQNR | "
            "ORT dynamic per-tensor top-1 / SQNR | qkc fp32 b1 ms | qkc int8-dynamic b1 ms | qkc w7 b1 ms | "
            "ORT fp32 b1 ms | ORT dynamic per-channel b1 ms | qkc dyn / ORT dyn | qkc w7 / ORT dyn |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    failed = 0
    targets = []
    for name in names:
        e = man.get(name)
        if not e or e.get("skipped"):
            rows.append("| %s | not built: %s |" % (name, (e or {}).get("skipped", "?")))
            continue
        src = os.path.join(mdir, e["onnx"]["17"])
        out_names = [o["name"] for o in e["outputs"]]
        x8 = {i["name"]: np.load(os.path.join(mdir, i["file"])) for i in e["inputs"]}
        x1 = {k: v[:1] for k, v in x8.items()}
        dims = ["--dim", ",".join("%s=%d" % kv for kv in e.get("dims", {}).items())] if e.get("dims") else []
        ref = dict(zip(out_names, zoo.ort_session(src).run(out_names, x8)))
        res, so = {}, {}
        for tag, opts in (("fp32", []), ("dyn", ["--precision", "int8-dynamic"]),
                          ("dyn7", ["--precision", "int8-dynamic", "--weight-bits", "7"])):
            so[tag] = os.path.join(ddir, "%s.%s.so" % (name, tag))
            r = subprocess.run([qkc, "compile", src, "-o", so[tag]] + dims + opts, capture_output=True, text=True)
            d = os.path.join(ddir, "out", "%s.%s" % (name, tag))
            os.makedirs(d, exist_ok=True)
            ins = sum((["-i", "%s=%s" % (k, os.path.join(mdir, i["file"]))] for k, i in
                       ((i["name"], i) for i in e["inputs"])), [])
            r2 = r.returncode == 0 and subprocess.run([qkc, "run", so[tag], "-d", d] + ins, capture_output=True,
                                                      text=True)
            if r.returncode != 0 or r2.returncode != 0:
                print("dynamic: qkc failed on %s %s:\n%s" % (name, tag, (r.stderr + (r2.stderr if r2 else ""))[-1500:]))
                failed = 1
                break
            res["qkc " + tag] = {k: np.load(os.path.join(d, k + ".npy")) for k in out_names}
        if failed:
            continue
        ort_m = {}
        for tag, pc in (("pc", True), ("pt", False)):
            ort_m[tag] = os.path.join(ddir, "%s.ort_dyn_%s.onnx" % (name, tag))
            quantize_dynamic(src, ort_m[tag], weight_type=QuantType.QInt8, per_channel=pc)
            res["ORT " + tag] = dict(zip(out_names, zoo.ort_session(ort_m[tag]).run(out_names, x8)))
        q = {k: zoo.agree_sqnr(v, ref) for k, v in res.items()}
        shapes = {k: (1,) + v.shape[1:] for k, v in ref.items()}
        sf, sd = zoo.ort_session(src), zoo.ort_session(ort_m["pc"])
        t = zoo.time_all({"qkc fp32": zoo.QkRunner(qk, so["fp32"], x1, shapes),
                          "qkc dyn": zoo.QkRunner(qk, so["dyn"], x1, shapes),
                          "qkc dyn7": zoo.QkRunner(qk, so["dyn7"], x1, shapes),
                          "ORT fp32": lambda: sf.run(out_names, x1), "ORT dyn": lambda: sd.run(out_names, x1)})

        def aq(k):
            return "%.1f%% / %.1f" % (100 * q[k][0], q[k][1])

        rows.append("| %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            name, aq("qkc dyn"), aq("qkc dyn7"), aq("ORT pc"), aq("ORT pt"), 1e3 * t["qkc fp32"],
            1e3 * t["qkc dyn"], 1e3 * t["qkc dyn7"], 1e3 * t["ORT fp32"], 1e3 * t["ORT dyn"],
            t["qkc dyn"] / t["ORT dyn"], t["qkc dyn7"] / t["ORT dyn"]))
        print(rows[-1], flush=True)
        # issue 10's targets: SQNR >= both of ORT's schemes, latency <= ORT's dynamic
        best_ort = max(q["ORT pc"][1], q["ORT pt"][1])
        targets.append("%s %s: int8-dynamic SQNR %.1f dB vs ORT's best %.1f dB" % (
            "PASS" if q["qkc dyn"][1] >= best_ort else "MISS", name, q["qkc dyn"][1], best_ort))
        r = t["qkc dyn"] / t["ORT dyn"]
        targets.append("%s %s: int8-dynamic latency %.2fx ORT's dynamic" % ("PASS" if r <= 1.0 else "MISS", name, r))
        # with 7-bit weights (x86 without VNNI: the pmaddubsw kernels ORT uses, exact here): both again
        r7 = t["qkc dyn7"] / t["ORT dyn"]
        targets.append("%s %s: int8-dynamic --weight-bits 7 SQNR %.1f dB vs ORT's best %.1f dB, latency %.2fx "
                       "ORT's dynamic" % ("PASS" if q["qkc dyn7"][1] >= best_ort and r7 <= 1.0 else "MISS", name,
                                          q["qkc dyn7"][1], best_ort, r7))
    head = ["# qkc int8-dynamic vs ONNX Runtime quantize_dynamic (the zoo's transformers)", "",
            "`python3 bench/zoo/dynamic.py` on %s, %s; qkc at %s. Opset-17 models of `bench/zoo/build_models.py` "
            "(random weights), test batch of 8 for the accuracy columns (top-1 agreement over the last axis and "
            "SQNR against ORT fp32), batch 1 on one thread for the latency (medians, alternating)." % (
                cpu, datetime.date.today().isoformat(), zoo.git_rev()), ""]
    text = "\n".join(head + rows) + "\n\nTargets (issue 10):\n\n" + "".join("    %s\n" % l for l in targets)
    print(text)
    if not args.no_report:
        out = os.path.join(ROOT, "bench", "ZOO-dynamic.md")
        notes = ""  # a "## Notes" section written by hand is kept
        if os.path.exists(out):
            with open(out) as f:
                old = f.read()
            if "\n## Notes\n" in old:
                notes = "\n" + old[old.index("\n## Notes\n") + 1:]
        with open(out, "w") as f:
            f.write(text + notes)
    return failed


if __name__ == "__main__":
    sys.exit(main())
