#!/usr/bin/python3
"""build_models.py -- the model zoo of issue 9: real architectures with
random weights (fixed seeds; nothing is downloaded), exported to ONNX with a
dynamic batch (dim 0 of every input and output named "N").

  torchvision (Debian's python3-torch 1.13 / python3-torchvision 0.14): the
  13 zoo models and a held-out list of other members of the same families.
  BatchNorm gets random affine parameters and running statistics from a few
  train-mode passes over random inputs (unit statistics let activations
  explode through deep nets); ConvNeXt's layer scales (1e-6 at
  initialization, which makes every block an identity) are drawn from
  [0.05, 0.2]; ViT's classifier head (zero at initialization: every logit
  would be 0) gets normal(0, 0.02) weights.

  HuggingFace transformers 4.38.2, built from small Config objects: BERT and
  DistilBERT (token classification), GPT-2 (LM head, use_cache=False), ViT
  (image classification) and Whisper's encoder. Token ids and attention
  masks are int64; the sequence dim is symbolic, named "seq" (qkc compiles
  them with --dim seq=128); Whisper's frame count is fixed by its config.

transformers is not a Debian package: this script keeps a virtual
environment in bench/zoo/.venv (`/usr/bin/python3 -m venv
--system-site-packages`, so it sees Debian's torch, torchvision, onnx and
numpy) with transformers==4.38.2 from PyPI, installed under a constraints file
that pins numpy and protobuf to Debian's versions (newer ones break onnx
1.12). It creates the venv when missing and re-runs itself inside it. When
PyPI cannot be reached, it says so and exports the torchvision models only
(the transformers are listed as skipped in the manifest).

Every model is exported at opsets 13 and 17 (torch 1.13's maximum). A few get
an opset-18 copy made by onnx.version_converter, which needs onnx >= 1.13
(Debian's is 1.12): `build_models.py --opset18 OUT_DIR` does only that step,
with whatever Python runs it (zoo.py runs it with its own, the one with
onnxruntime and a PyPI onnx).

For each model OUT_DIR holds NAME_opK.onnx, NAME.INPUT.npy (the test batch,
8 samples), NAME.INPUT.calib.npy (calibration samples, 2 by default: qkc's
calibration runs its reference interpreter, which is slow on big models) and
OUT_DIR/manifest.json describes them. Models already exported with the same
settings are reused.

    build_models.py OUT_DIR [--models a,b] [--heldout] [--opsets 13,17] [--calib-samples N] [--list]
    build_models.py --opset18 OUT_DIR [--models a,b]"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
DEBIAN_PY = "/usr/bin/python3"
TRANSFORMERS = "transformers==4.38.2"
TEST_BATCH = 8
SEQ = 128

# name -> spec. kind: "tv" (torchvision constructor name, kwargs, image size) or "hf"
# (a builder below). opset18: also make an opset-18 copy.
ZOO = {
    "resnet18": {"kind": "tv", "ctor": "resnet18", "image": 224, "opset18": True},
    "resnet50": {"kind": "tv", "ctor": "resnet50", "image": 224},
    "mobilenet_v2": {"kind": "tv", "ctor": "mobilenet_v2", "image": 224},
    "mobilenet_v3_small": {"kind": "tv", "ctor": "mobilenet_v3_small", "image": 224, "opset18": True},
    "efficientnet_b0": {"kind": "tv", "ctor": "efficientnet_b0", "image": 224},
    "squeezenet1_1": {"kind": "tv", "ctor": "squeezenet1_1", "image": 224},
    "shufflenet_v2_x1_0": {"kind": "tv", "ctor": "shufflenet_v2_x1_0", "image": 224, "opset18": True},
    "densenet121": {"kind": "tv", "ctor": "densenet121", "image": 224},
    "googlenet": {"kind": "tv", "ctor": "googlenet", "image": 224,
                  "kwargs": {"aux_logits": False, "init_weights": True}},
    "inception_v3": {"kind": "tv", "ctor": "inception_v3", "image": 299,
                     "kwargs": {"aux_logits": False, "init_weights": True}},
    "regnet_y_400mf": {"kind": "tv", "ctor": "regnet_y_400mf", "image": 224},
    "convnext_tiny": {"kind": "tv", "ctor": "convnext_tiny", "image": 224, "opset18": True},
    "vit_b_16": {"kind": "tv", "ctor": "vit_b_16", "image": 224, "reinit_zero_linear": True},
    "bert": {"kind": "hf", "arch": "bert", "cfg": {"vocab_size": 8000, "hidden_size": 256, "num_hidden_layers": 4,
                                                   "num_attention_heads": 4, "intermediate_size": 1024},
             "opset18": True},
    "distilbert": {"kind": "hf", "arch": "distilbert", "cfg": {"vocab_size": 8000, "dim": 256, "n_layers": 4,
                                                               "n_heads": 4, "hidden_dim": 1024}},
    "gpt2": {"kind": "hf", "arch": "gpt2", "cfg": {"vocab_size": 8000, "n_embd": 256, "n_layer": 4, "n_head": 4,
                                                   "n_positions": 512}, "opset18": True},
    "vit_hf": {"kind": "hf", "arch": "vit", "cfg": {"image_size": 224, "patch_size": 16, "hidden_size": 256,
                                                    "num_hidden_layers": 4, "num_attention_heads": 4,
                                                    "intermediate_size": 1024}},
    "whisper_encoder": {"kind": "hf", "arch": "whisper", "cfg": {"num_mel_bins": 80, "d_model": 384,
                                                                 "encoder_layers": 4, "encoder_attention_heads": 6,
                                                                 "encoder_ffn_dim": 1536,
                                                                 "max_source_positions": 250}},
}
HELDOUT = {
    "resnet34": {"kind": "tv", "ctor": "resnet34", "image": 224},
    "mobilenet_v3_large": {"kind": "tv", "ctor": "mobilenet_v3_large", "image": 224},
    "efficientnet_b1": {"kind": "tv", "ctor": "efficientnet_b1", "image": 240},
    "regnet_x_400mf": {"kind": "tv", "ctor": "regnet_x_400mf", "image": 224},
    "shufflenet_v2_x0_5": {"kind": "tv", "ctor": "shufflenet_v2_x0_5", "image": 224},
    "mnasnet0_5": {"kind": "tv", "ctor": "mnasnet0_5", "image": 224},
    "squeezenet1_0": {"kind": "tv", "ctor": "squeezenet1_0", "image": 224},
    "vit_b_32": {"kind": "tv", "ctor": "vit_b_32", "image": 224, "reinit_zero_linear": True},
    "bert_l6_h384": {"kind": "hf", "arch": "bert", "seq": 64,
                     "cfg": {"vocab_size": 12000, "hidden_size": 384, "num_hidden_layers": 6,
                             "num_attention_heads": 6, "intermediate_size": 1536}},
    "gpt2_l3_h192": {"kind": "hf", "arch": "gpt2", "seq": 64,
                     "cfg": {"vocab_size": 5000, "n_embd": 192, "n_layer": 3, "n_head": 3, "n_positions": 256}},
    "distilbert_l3_h512": {"kind": "hf", "arch": "distilbert", "seq": 96,
                           "cfg": {"vocab_size": 6000, "dim": 512, "n_layers": 3, "n_heads": 8,
                                   "hidden_dim": 2048}},
}


def log(msg):
    print("[build_models] " + msg, file=sys.stderr, flush=True)


# ---- the virtual environment ------------------------------------------------------------------

def debian_versions():
    """numpy's and protobuf's versions in Debian's Python (the constraints)."""
    code = ("from importlib.metadata import version as v\n"
            "print(v('numpy')); print(v('protobuf'))")
    p = subprocess.run([DEBIAN_PY, "-c", code], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return p.stdout.split()


def venv_has_transformers():
    if not os.path.exists(VENV_PY):
        return False
    return subprocess.run([VENV_PY, "-c", "import transformers"], capture_output=True).returncode == 0


def ensure_venv():
    """bench/zoo/.venv with Debian's packages and transformers; returns None
    on success, else why transformers is missing (the venv itself must
    exist: it is how Debian's torch is run)."""
    if not os.path.exists(VENV_PY):
        log("creating %s (python3 -m venv --system-site-packages)" % VENV)
        p = subprocess.run([DEBIAN_PY, "-m", "venv", "--system-site-packages", VENV], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("build_models: cannot create the venv %s: %s\n(on Debian: apt-get install python3-venv)" % (
                VENV, (p.stderr or p.stdout).strip()[-600:]))
    if venv_has_transformers():
        return None
    vers = debian_versions()
    if not vers:
        return "cannot read numpy's and protobuf's versions from %s" % DEBIAN_PY
    cons = os.path.join(VENV, "constraints.txt")
    with open(cons, "w") as f:
        f.write("numpy==%s\nprotobuf==%s\n" % tuple(vers))
    log("installing %s from PyPI into %s (numpy==%s, protobuf==%s pinned)" % (TRANSFORMERS, VENV, vers[0], vers[1]))
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    try:
        p = subprocess.run([VENV_PY, "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "30",
                            "-c", cons, TRANSFORMERS], capture_output=True, text=True, env=env, timeout=1200)
        out = (p.stderr or p.stdout).strip()
        ok = p.returncode == 0
    except subprocess.TimeoutExpired:
        ok, out = False, "pip did not finish in 20 minutes"
    if not ok or not venv_has_transformers():
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.startswith("ERROR")]
        tail = (errs[-1] if errs else lines[-1] if lines else "pip exited %s" % p.returncode)[-400:]
        return ("could not install %s from PyPI into %s (is PyPI reachable from here?): %s" % (
            TRANSFORMERS, VENV, tail))
    return None


def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


# ---- building -----------------------------------------------------------------------------------

def randomize_bn(model, make_batch, passes=4, batch=4):
    """Random BatchNorm affine parameters; running statistics from `passes`
    train-mode passes of random inputs (momentum None: a cumulative mean)."""
    import torch
    import torch.nn as nn
    g = torch.Generator().manual_seed(4321)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return model.eval()
    saved = []
    for m in bns:
        with torch.no_grad():
            if m.weight is not None:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
        m.reset_running_stats()
        saved.append(m.momentum)
        m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(passes):
            model(*make_batch(batch, torch.Generator().manual_seed(100 + i)))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    return model.eval()


def token_inputs(vocab, seq, names=("input_ids", "attention_mask")):
    """Random int64 token ids in [1, vocab); the attention mask pads the tail
    (1 to seq/2 positions) of every other sample."""
    import torch

    def make(n, g):
        ids = torch.randint(1, vocab, (n, seq), generator=g, dtype=torch.long)
        mask = torch.ones(n, seq, dtype=torch.long)
        pads = torch.randint(1, seq // 2 + 1, (n,), generator=g)
        for i in range(1, n, 2):
            mask[i, seq - int(pads[i]):] = 0
        return (ids, mask)[:len(names)]
    return make


def build_hf(spec):
    """(module, make_inputs(n, generator), input names, output names, symbolic dims)."""
    import torch
    import transformers as T
    arch, cfg, seq = spec["arch"], dict(spec["cfg"]), spec.get("seq", SEQ)

    class Wrap(torch.nn.Module):
        def __init__(self, m, key, names):
            super().__init__()
            self.m, self.key, self.names = m, key, names

        def forward(self, *args):
            return getattr(self.m(**dict(zip(self.names, args))), self.key)

    if arch in ("bert", "distilbert", "gpt2"):
        names = ["input_ids", "attention_mask"]
        if arch == "bert":
            m = T.BertForTokenClassification(T.BertConfig(num_labels=10, **cfg))
        elif arch == "distilbert":
            m = T.DistilBertForTokenClassification(T.DistilBertConfig(num_labels=10, **cfg))
        else:
            m = T.GPT2LMHeadModel(T.GPT2Config(use_cache=False, **cfg))
        sym = {"input_ids": {1: "seq"}, "attention_mask": {1: "seq"}, "logits": {1: "seq"}}
        return (Wrap(m, "logits", names).eval(), token_inputs(cfg.get("vocab_size"), seq), names, ["logits"], sym,
                {"seq": seq})
    if arch == "vit":
        m = T.ViTForImageClassification(T.ViTConfig(num_labels=10, **cfg))
        s = cfg["image_size"]
        return (Wrap(m, "logits", ["pixel_values"]).eval(),
                lambda n, g: (torch.randn(n, 3, s, s, generator=g),), ["pixel_values"], ["logits"], {}, {})
    if arch == "whisper":
        from transformers.models.whisper.modeling_whisper import WhisperEncoder
        m = WhisperEncoder(T.WhisperConfig(**cfg))
        frames = 2 * cfg["max_source_positions"]
        mels = cfg["num_mel_bins"]
        return (Wrap(m, "last_hidden_state", ["input_features"]).eval(),
                lambda n, g: (torch.randn(n, mels, frames, generator=g),), ["input_features"],
                ["last_hidden_state"], {}, {})
    raise ValueError(arch)


def build_tv(spec):
    import torch
    import torchvision
    from torchvision.models import convnext
    m = getattr(torchvision.models, spec["ctor"])(weights=None, **spec.get("kwargs", {}))
    s = spec["image"]
    make = (lambda n, g: (torch.randn(n, 3, s, s, generator=g),))
    randomize_bn(m, make)
    g = torch.Generator().manual_seed(77)
    for mod in m.modules():
        if isinstance(mod, convnext.CNBlock):
            with torch.no_grad():
                mod.layer_scale.copy_(torch.rand(mod.layer_scale.shape, generator=g) * 0.15 + 0.05)
        # torchvision's ViT zero-initializes its classifier head: every logit would be 0
        if spec.get("reinit_zero_linear") and isinstance(mod, torch.nn.Linear) and not mod.weight.any():
            with torch.no_grad():
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * 0.02)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.02)
    return m.eval(), make, ["input"], ["logits"], {}, {}


def seed_of(name):
    import zlib
    return zlib.crc32(name.encode()) & 0x7fffffff


EXPORT_REV = 1  # bump when a change here changes the exported models (the cache key has it)


def spec_key(name, spec, opsets, calib):
    import torch
    return "rev %d %s %s opsets %s calib %d torch %s" % (EXPORT_REV, name, json.dumps(spec, sort_keys=True),
                                                        ",".join(map(str, opsets)), calib, torch.__version__)


def export(name, spec, opsets, calib_n, out):
    import numpy as np
    import torch
    torch.manual_seed(seed_of(name))
    t0 = time.time()
    builder = build_hf if spec["kind"] == "hf" else build_tv
    model, make, in_names, out_names, sym, dims = builder(spec)
    x = make(TEST_BATCH, torch.Generator().manual_seed(seed_of(name) + 1))
    calib = make(calib_n, torch.Generator().manual_seed(seed_of(name) + 2))
    dyn = {}
    for n in in_names + out_names:
        dyn[n] = {0: "N"}
        dyn[n].update(sym.get(n, {}))
    files = {}
    for k in opsets:
        f = "%s_op%d.onnx" % (name, k)
        # not under no_grad: there nn.MultiheadAttention (vit_b_16) takes its fused fast path,
        # aten::_native_multi_head_attention, which torch 1.13 cannot export
        torch.onnx.export(model, x, os.path.join(out, f), input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=k, do_constant_folding=True)
        files[str(k)] = f
    inputs = []
    for n, t, c in zip(in_names, x, calib):
        a = t.numpy()
        np.save(os.path.join(out, "%s.%s.npy" % (name, n)), a)
        np.save(os.path.join(out, "%s.%s.calib.npy" % (name, n)), c.numpy())
        inputs.append({"name": n, "file": "%s.%s.npy" % (name, n), "calib": "%s.%s.calib.npy" % (name, n),
                       "dtype": str(a.dtype), "shape": list(a.shape)})
    return {"name": name, "source": "transformers" if spec["kind"] == "hf" else "torchvision", "onnx": files,
            "inputs": inputs, "outputs": [{"name": n} for n in out_names], "dims": dims,
            "params": int(sum(p.numel() for p in model.parameters())), "export_s": round(time.time() - t0, 1),
            "opset18": bool(spec.get("opset18"))}


def load_manifest(out):
    p = os.path.join(out, "manifest.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {"models": {}}


def save_manifest(out, man):
    p = os.path.join(out, "manifest.json")
    with open(p + ".tmp", "w") as f:
        json.dump(man, f, indent=1)
    os.replace(p + ".tmp", p)


def build(out, names, opsets, calib_n, no_transformers_why):
    import torch
    torch.set_num_threads(max(1, min(4, (os.cpu_count() or 2) // 2)))  # leave a core to the rest of the machine
    import warnings
    warnings.filterwarnings("ignore")
    man = load_manifest(out)
    for name in names:
        spec = ZOO.get(name) or HELDOUT[name]
        if spec["kind"] == "hf" and no_transformers_why:
            man["models"][name] = {"name": name, "source": "transformers", "skipped": no_transformers_why,
                                   "heldout": name in HELDOUT}
            save_manifest(out, man)
            continue
        key = spec_key(name, spec, opsets, calib_n)
        old = man["models"].get(name)
        if old and old.get("key") == key and all(os.path.exists(os.path.join(out, f))
                                                 for f in list(old["onnx"].values())):
            continue
        log("exporting %s (opsets %s)" % (name, ",".join(map(str, opsets))))
        try:
            e = export(name, spec, opsets, calib_n, out)
        except Exception as ex:  # an export failure is a row of the zoo, not the end of it
            import traceback
            tb = traceback.format_exc().strip().splitlines()
            man["models"][name] = {"name": name, "skipped": "export failed: %s" % (tb[-1][:400] if tb else ex),
                                   "heldout": name in HELDOUT}
            save_manifest(out, man)
            log("%s: export failed: %s" % (name, tb[-1] if tb else ex))
            continue
        e["key"], e["heldout"] = key, name in HELDOUT
        man["models"][name] = e
        save_manifest(out, man)
        log("exported %s in %.1f s (%.1fM parameters)" % (name, e["export_s"], e["params"] / 1e6))
    return man


def opset18(out, names):
    """An opset-18 copy (onnx.version_converter) of the opset-17 export of
    every model marked opset18; a failure is noted in the manifest."""
    import onnx
    from onnx import version_converter
    man = load_manifest(out)
    for name in names:
        e = man["models"].get(name)
        if not e or e.get("skipped") or not e.get("opset18") or "17" not in e["onnx"]:
            continue
        dst = "%s_op18.onnx" % name
        src = os.path.join(out, e["onnx"]["17"])
        if e["onnx"].get("18") == dst and os.path.exists(os.path.join(out, dst)) and \
                os.path.getmtime(os.path.join(out, dst)) >= os.path.getmtime(src):
            continue
        try:
            m18 = version_converter.convert_version(onnx.load(src), 18)
            onnx.checker.check_model(m18)
            onnx.save(m18, os.path.join(out, dst))
            e["onnx"]["18"] = dst
            e.pop("opset18_error", None)
            log("converted %s to opset 18" % name)
        except Exception as ex:
            e["onnx"].pop("18", None)
            e["opset18_error"] = ("onnx %s version_converter: %s" % (onnx.__version__, str(ex).strip()))[:400]
            log("%s: no opset-18 copy: %s" % (name, e["opset18_error"]))
        save_manifest(out, man)
    return man


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="where the models go")
    ap.add_argument("--models", help="comma-separated names (default: the zoo; with --heldout, the held-out list)")
    ap.add_argument("--heldout", action="store_true", help="the held-out models instead of the zoo")
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--calib-samples", type=int, default=2)
    ap.add_argument("--opset18", action="store_true", help="only make the opset-18 copies (needs onnx >= 1.13)")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    a = ap.parse_args()
    if a.list:
        print("zoo:      " + " ".join(ZOO))
        print("heldout:  " + " ".join(HELDOUT))
        return
    if not a.out:
        ap.error("OUT_DIR is required")
    names = a.models.split(",") if a.models else list(HELDOUT if a.heldout else ZOO)
    bad = [n for n in names if n not in ZOO and n not in HELDOUT]
    if bad:
        ap.error("unknown model(s): %s (--list shows them)" % ", ".join(bad))
    os.makedirs(a.out, exist_ok=True)
    if a.opset18:
        opset18(a.out, names)
        return
    if not in_venv():
        why = ensure_venv()
        env = dict(os.environ)
        if why:
            env["ZOO_NO_TRANSFORMERS"] = why
            log("transformers unavailable: %s -- the transformer models are skipped" % why)
        os.execve(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:], env)
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        sys.exit("build_models: %s: Debian's python3-torch and python3-torchvision are needed "
                 "(apt-get install python3-torch python3-torchvision)" % e)
    why = os.environ.get("ZOO_NO_TRANSFORMERS")
    if not why:
        try:
            import transformers  # noqa: F401
        except ImportError as e:
            why = "transformers is not importable in %s: %s" % (sys.prefix, e)
    build(a.out, names, tuple(int(k) for k in a.opsets.split(",")), a.calib_samples, why)


if __name__ == "__main__":
    main()
