#!/usr/bin/python3
"""onnx2text.py -- a binary ONNX model in the ONNX text syntax (.onnxtxt).

Debian's python3-onnx 1.12 has onnx.parser but no onnx.printer, so this
writes the text itself, for the plain models the tests need: one graph,
tensor inputs/outputs, nodes with int/float/string/ints/floats attributes,
numeric initializers (written in the value-info section with their data).
Names that are not identifiers in the text syntax (e.g. PyTorch's
"/net/net.1/Gemm_output_0" or "net.1.weight") are renamed to identifiers.
Floats are written as the shortest decimal of their exact value, so that the
text holds bit for bit the weights of the binary model.

    onnx2text.py MODEL.onnx OUT.onnxtxt
"""
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TYPE_NAMES = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
              9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64"}


class Names:
    """Value names to text-syntax identifiers, unique and stable."""

    def __init__(self):
        self.map, self.used = {}, set()

    def __call__(self, name):
        if name == "":
            return ""
        if name not in self.map:
            ident = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "v"
            if not re.match(r"[A-Za-z_]", ident):
                ident = "v_" + ident
            base, k = ident, 1
            while ident in self.used:
                ident, k = "%s_%d" % (base, k), k + 1
            self.used.add(ident)
            self.map[name] = ident
        return self.map[name]


def num(x, is_float):
    if not is_float:
        return str(int(x))
    f = float(x)
    if not np.isfinite(f):
        raise SystemExit("onnx2text: non-finite value %r cannot be written" % f)
    return repr(f)  # exact: a float32 widened to double, shortest round trip


def value_type(vi, names):
    tt = vi.type.tensor_type
    dims = []
    for d in tt.shape.dim:
        dims.append(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?"))
    shape = "[%s]" % ", ".join(dims) if tt.HasField("shape") else ""
    return "%s%s %s" % (TYPE_NAMES[tt.elem_type], shape, names(vi.name))


def attribute(a):
    T = onnx.AttributeProto
    if a.type == T.INT:
        v = str(a.i)
    elif a.type == T.FLOAT:
        v = num(a.f, True)
    elif a.type == T.STRING:
        v = '"%s"' % a.s.decode().replace("\\", "\\\\").replace('"', '\\"')
    elif a.type == T.INTS:
        v = "[%s]" % ", ".join(str(i) for i in a.ints)
    elif a.type == T.FLOATS:
        v = "[%s]" % ", ".join(num(f, True) for f in a.floats)
    else:
        raise SystemExit("onnx2text: attribute %s of type %d is not supported" % (a.name, a.type))
    return "%s = %s" % (a.name, v)


def initializer(t, names):
    arr = numpy_helper.to_array(t)
    is_float = arr.dtype.kind == "f"
    vals = ", ".join(num(x, is_float) for x in arr.reshape(-1))
    dims = "[%s]" % ", ".join(str(d) for d in t.dims) if len(t.dims) else ""
    return "  %s%s %s = {%s}" % (TYPE_NAMES[t.data_type], dims, names(t.name), vals)


def to_text(m):
    names = Names()
    g = m.graph
    inits = {t.name for t in g.initializer}
    lines = ["<", "  ir_version: %d," % m.ir_version]
    lines.append("  opset_import: [%s]" % ", ".join('"%s" : %d' % (o.domain, o.version) for o in m.opset_import))
    lines.append(">")
    ins = ", ".join(value_type(vi, names) for vi in g.input if vi.name not in inits)
    outs = ", ".join(value_type(vi, names) for vi in g.output)
    lines.append("%s (%s) => (%s)" % (names(g.name or "model"), ins, outs))
    if g.initializer:
        lines.append("<")
        lines.append(",\n".join(initializer(t, names) for t in g.initializer))
        lines.append(">")
    lines.append("{")
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise SystemExit("onnx2text: node of domain %s" % n.domain)
        attrs = "<%s>" % ", ".join(attribute(a) for a in n.attribute) if n.attribute else ""
        lines.append("  %s = %s %s(%s)" % (", ".join(names(o) for o in n.output), n.op_type, attrs,
                                          ", ".join(names(i) for i in n.input)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    text = to_text(onnx.load(sys.argv[1]))
    with open(sys.argv[2], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
