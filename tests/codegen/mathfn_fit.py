#!/usr/bin/python3
"""mathfn_fit.py — the polynomial coefficients of codegen/mathfn.c, refitted.

Each set is a near-minimax fit (Lawson's iteratively reweighted least
squares on a Chebyshev grid, targets from mpmath at 40+ digits, the fit in a
Chebyshev basis and then expanded to monomials), printed as the C array
mathfn.c holds. Not run by the tests: it is how the numbers were made, and
the way to remake them (about 20 s; needs Debian's python3-numpy and
python3-mpmath: /usr/bin/python3 tests/codegen/mathfn_fit.py).
"""
import mpmath as mp
import numpy as np
from numpy.polynomial import chebyshev as C
from numpy.polynomial import polynomial as P

mp.mp.dps = 50


def lawson(f, a, b, deg, var, vlo, vhi, weight=lambda x: 1.0, n=3000, iters=300):
    """Coefficients c_k of sum c_k var(x)^k ~ f(x) on [a, b], var(x) in
    [vlo, vhi], minimizing max |weight(x) (fit - f)|; and that max."""
    xs = [a + (b - a) * (1 - mp.cos(mp.pi * (i + 0.5) / n)) / 2 for i in range(n)]
    t = np.array([float(var(x)) for x in xs])
    s = (2 * t - (vlo + vhi)) / (vhi - vlo)
    y = np.array([float(f(x)) for x in xs])
    w0 = np.array([float(weight(x)) for x in xs])
    V = C.chebvander(s, deg)
    w = np.ones(n) / n
    for _ in range(iters):
        sw = np.sqrt(w) * w0
        c, *_ = np.linalg.lstsq(V * sw[:, None], y * sw, rcond=None)
        e = np.abs(V @ c - y) * w0
        w = w * e
        w /= w.sum()
    lin = P.Polynomial([-(vlo + vhi) / (vhi - vlo), 2 / (vhi - vlo)])
    acc = P.Polynomial([0.0])
    for k, ck in enumerate(C.cheb2poly(c)):
        acc = acc + ck * lin**k
    return acc.coef, e.max()


def show(name, coef, err, what, digits=17):
    print("%s: %s %.3g" % (name, what, err))
    print("    {%s};" % ", ".join("%.*e" % (digits - 1, v) for v in coef))


def sq(z):
    return mp.sqrt(z)


# erf, |x| < 0.9375: erf(x) = x + x Q(x^2)          (f32: 10 digits are plenty)
T = mp.mpf("0.9375")


def erf_q(z):
    return mp.erf(sq(z)) / sq(z) - 1 if z > 0 else 2 / mp.sqrt(mp.pi) - 1
c, e = lawson(erf_q, mp.mpf(0), T * T, 6, lambda z: z, 0, float(T * T))
show("erf q", c, e, "max |error| of Q", 10)
# erf, |x| >= 0.9375: 1 - exp(h(t) - t^2), h(t) = log(erfc(t)) + t^2 in t - 2.5 on [0.9375, 4]
c, e = lawson(lambda t: mp.log(mp.erfc(t)) + t * t, T, mp.mpf(4), 8, lambda t: t - 2.5, float(T) - 2.5, 1.5)
show("erf h", c, e, "max |error| of h (relative error of erfc)", 10)

# log (f32): R(z) = z (c0 + c1 z + c2 z^2 + c3 z^3) ~ 2 atanh(s)/s - 2, z = s^2, |s| <= (sqrt2-1)/(sqrt2+1)
smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)
Z = smax * smax
c, e = lawson(lambda z: (2 * mp.atanh(sq(z)) / sq(z) - 2) / z if z > 0 else mp.mpf(2) / 3, mp.mpf(0), Z, 3,
              lambda z: z, 0, float(Z))
show("log lg", c, e, "max |error| of R(z)/z", 11)

# sin, cos on [-pi/4, pi/4] (f64): sin r = r + r z S(z), cos r = 1 - z/2 + z^2 K(z), z = r^2
Z = (mp.pi / 4) ** 2 * mp.mpf("1.0001")
c, e = lawson(lambda z: (mp.sin(sq(z)) - sq(z)) / sq(z) ** 3 if z > 0 else mp.mpf(-1) / 6, mp.mpf(0), Z, 3,
              lambda z: z, 0, float(Z), weight=lambda z: z / (mp.sin(sq(z)) / sq(z)) if z > 0 else 0)
show("sin", c, e, "max relative error of sin")
c, e = lawson(lambda z: (mp.cos(sq(z)) - 1 + z / 2) / z**2 if z > 0 else mp.mpf(1) / 24, mp.mpf(0), Z, 3,
              lambda z: z, 0, float(Z), weight=lambda z: z * z / mp.cos(sq(z)))
show("cos", c, e, "max relative error of cos")

# atan on [0, tan(pi/8)] (f64): atan t = t + t z A(z)
Z = mp.tan(mp.pi / 8) ** 2 * mp.mpf("1.0001")
c, e = lawson(lambda z: (mp.atan(sq(z)) - sq(z)) / sq(z) ** 3 if z > 0 else mp.mpf(-1) / 3, mp.mpf(0), Z, 5,
              lambda z: z, 0, float(Z), weight=lambda z: z / (mp.atan(sq(z)) / sq(z)) if z > 0 else 0)
show("atan", c, e, "max relative error of atan")

# pow's log2 (f64): log m = 2s + s z L(z), z = s^2, s = (m-1)/(m+1)
Z = smax * smax * mp.mpf("1.0001")
c, e = lawson(lambda z: (2 * mp.atanh(sq(z)) - 2 * sq(z)) / sq(z) ** 3 if z > 0 else mp.mpf(2) / 3, mp.mpf(0), Z, 5,
              lambda z: z, 0, float(Z), weight=lambda z: z / 2)
show("pow log", c, e, "max relative error of log(m)")

# pow's exp2 (f64): 2^f = 1 + f E(f), |f| <= 1/2
c, e = lawson(lambda f: (mp.mpf(2) ** f - 1) / f if f != 0 else mp.log(2), mp.mpf(-0.5), mp.mpf(0.5), 7,
              lambda f: f, -0.5, 0.5, weight=lambda f: abs(f) / mp.mpf(2) ** f)
show("pow exp2", c, e, "max relative error of 2^f")
