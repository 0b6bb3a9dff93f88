#!/usr/bin/python3
"""Generate the official ONNX backend node tests into OUTDIR (at test time).

Usage: gen_node_tests.py OUTDIR

Uses Debian's python3-onnx (run with /usr/bin/python3). onnx 1.12's test
generators still use numpy aliases that numpy 1.24 removed; they are put
back before the generator runs. Output: OUTDIR/node/test_*/model.onnx and
test_data_set_0/{input,output}_N.pb. Nothing generated is committed.
"""
import os
import runpy
import sys

import numpy as np

for alias, typ in (("float", float), ("int", int), ("bool", bool), ("object", object),
                   ("complex", complex), ("str", str), ("long", int)):
    if not hasattr(np, alias):
        setattr(np, alias, typ)

if len(sys.argv) != 2:
    sys.exit(__doc__)
out = sys.argv[1]
stamp = os.path.join(out, ".complete")
if os.path.exists(stamp):
    sys.exit(0)
sys.argv = ["backend-test-tools", "generate-data", "-o", out]
try:
    runpy.run_module("onnx.backend.test.cmd_tools", run_name="__main__")
except SystemExit as e:
    if e.code:
        raise
open(stamp, "w").close()
