#!/usr/bin/python3
"""compare_text_parse.py -- qkc's text parser against onnx.parser (the oracle).

For each text model in the corpus, convert it with text2onnx (qkc's
text_parse_model + onnx__model_proto__pack), load the result with onnx, parse
the same text with onnx.parser.parse_model, and require the two ModelProto
messages to be equal (==, so field presence counts), printing a diff of their
text forms when they are not.

Run with Debian's /usr/bin/python3 (python3-onnx 1.12):

    compare_text_parse.py TEXT2ONNX CORPUS_DIR [WORK_DIR]

Exits 77 (a skip for ctest) when this Python has no onnx.
"""
import difflib
import glob
import os
import subprocess
import sys
import tempfile

try:
    import onnx
    import onnx.parser
except ImportError as e:
    print("skipped: %s has no onnx.parser (%s); run it with Debian's /usr/bin/python3" % (sys.executable, e))
    sys.exit(77)


def compare(tool, path, work):
    with open(path, encoding="utf-8", newline="") as f:  # keep \r\n as is
        text = f.read()
    out = os.path.join(work, os.path.basename(path) + ".onnx")
    run = subprocess.run([tool, path, out], capture_output=True, text=True)
    if run.returncode != 0:
        return "text2onnx failed (rc %d):\n%s" % (run.returncode, run.stderr)
    ours = onnx.load(out)
    try:
        theirs = onnx.parser.parse_model(text)
    except Exception as e:  # the corpus holds only models onnx accepts
        return "onnx.parser rejects it: %s: %s" % (type(e).__name__, e)
    if ours == theirs:
        return None
    diff = difflib.unified_diff(str(theirs).splitlines(), str(ours).splitlines(),
                                "onnx.parser", "qkc", lineterm="")
    return "messages differ:\n" + "\n".join(diff)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    tool, corpus = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(corpus, "*.onnxtxt")))
    if len(files) < 15:
        sys.exit("corpus %s: %d models, expected at least 15" % (corpus, len(files)))
    print("onnx %s, %d models" % (onnx.__version__, len(files)))
    failed = 0
    with tempfile.TemporaryDirectory(dir=sys.argv[3] if len(sys.argv) == 4 else None) as work:
        for path in files:
            problem = compare(tool, path, work)
            print("%-4s %s" % ("ok" if problem is None else "FAIL", os.path.basename(path)))
            if problem:
                print(problem)
                failed += 1
    print("%d of %d models equal" % (len(files) - failed, len(files)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
