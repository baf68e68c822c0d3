"""The one-sided Fisher exact test of DESIGN.md "Is it the host or the image?", exactly.

p = sum over x >= a of C(K, x) * C(N - K, n - x) / C(N, n): the chance that n testruns drawn
from N, of which K ended in error, hold a or more errors.  The numerator and denominator are
Python integers (math.comb, then the ratio of consecutive terms, each an exact integer
division), so the decision p < 0.01 is exact (100 * numerator < denominator) and p is the
correctly rounded float of the fraction.

Exact big-integer sums get slow when N is in the hundred thousands (C(N, n) then has about
100,000 bits; tens of milliseconds per pair, a second for a 1M-testrun report), and most
(host, configuration) pairs are nowhere near the threshold.  So p is first estimated in
floating point (lgamma and the ratio of consecutive terms: relative error below 1e-8, far inside
the factor SCREEN_MARGIN it is trusted with).  The verdict is always exact: a pair whose estimate
is within SCREEN_MARGIN of 0.01 either way is computed exactly, whatever its size; far from the
threshold the estimate cannot be on the wrong side.  The p reported is the exact one (correctly
rounded) whenever C(N, n) has at most EXACT_BITS bits, else the estimate.  Results are kept
per (a, n, K, N): a live monitor asks for the same ones at every refresh.
"""

from __future__ import annotations

import math
from functools import lru_cache

THRESHOLD = 0.01  # DESIGN: suspect when p < 0.01 ...
MIN_ERRORS = 3  # ... and the host has at least 3 errors on the configuration
SCREEN_MARGIN = 4.0
EXACT_BITS = 32768  # C(N, n) up to this size: p is summed exactly (a millisecond or two)


def tail_fraction(a: int, n: int, K: int, N: int) -> tuple[int, int]:
    """(numerator, denominator) of p, exact integers (DESIGN's sum; 0 / 1 when a > min(n, K)).

    The sum is term(a) x (1 + r(a) + r(a) r(a + 1) + ...) with term(x + 1) / term(x) = r(x) =
    (K - x)(n - x) / ((x + 1)(N - K - n + x + 1)); the bracket is summed by binary splitting
    (products of halves, as for the digits of e): a few large multiplications instead of one
    pass of small ones per term (1 s at a million testruns, now milliseconds).
    """
    top = min(n, K)
    if a > top:
        return 0, 1
    a = max(a, 0, n - (N - K))  # terms below the lowest possible x are 0: start there
    first = math.comb(K, a) * math.comb(N - K, n - a)
    _, q, t = _split(a, top + 1, n, K, N)
    return first * t, q * math.comb(N, n)


def _split(i: int, j: int, n: int, K: int, N: int) -> tuple[int, int, int]:
    """(P, Q, T) over the terms i <= x < j: P / Q = r(i) ... r(j - 1), and
    T / Q = 1 + r(i) + r(i) r(i + 1) + ... (j - i terms)."""
    if j - i == 1:
        q = (i + 1) * (N - K - n + i + 1)
        return (K - i) * (n - i), q, q
    m = (i + j) // 2
    p1, q1, t1 = _split(i, m, n, K, N)
    p2, q2, t2 = _split(m, j, n, K, N)
    return p1 * p2, q1 * q2, t1 * q2 + p1 * t2


def exact_p(a: int, n: int, K: int, N: int) -> float:
    """DESIGN's one-sided Fisher p, correctly rounded from the exact fraction (any size)."""
    num, den = tail_fraction(a, n, K, N)
    return num / den


@lru_cache(maxsize=65536)
def p_value(a: int, n: int, K: int, N: int) -> float:
    """DESIGN's one-sided Fisher p: exact (exact_p) while C(N, n) has at most EXACT_BITS bits,
    else the floating-point estimate (relative error below 1e-8)."""
    return exact_p(a, n, K, N) if _small(n, N) else _estimate(a, n, K, N)


def _small(n: int, N: int) -> bool:
    """Whether C(N, n) has at most EXACT_BITS bits (by lgamma, with a bit to spare)."""
    k = min(n, N - n)
    bits = (math.lgamma(N + 1) - math.lgamma(k + 1) - math.lgamma(N - k + 1)) / math.log(2)
    return bits + 1 <= EXACT_BITS


def _estimate(a: int, n: int, K: int, N: int) -> float:
    """p in floating point.  Above the mean: the upper tail from a; at or below it: 1 - the
    lower tail below a.  Either way the terms fall from the first on (a hypergeometric's mode
    is within one of its mean), so the sum of their ratios to the first cannot overflow and
    stops once they no longer count; the first term comes from lgamma."""
    top, low = min(n, K), max(0, n - (N - K))
    if a > top:
        return 0.0
    if a <= low:
        return 1.0
    if a * N <= n * K:
        return max(0.0, 1.0 - _tail(a - 1, -1, low, n, K, N))
    return _tail(a, 1, top, n, K, N)


def _tail(x: int, step: int, end: int, n: int, K: int, N: int) -> float:
    """The sum of the hypergeometric probabilities from x to end (step 1 or -1)."""
    def log_comb(m: int, k: int) -> float:
        return math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1)

    log_first = log_comb(K, x) + log_comb(N - K, n - x) - log_comb(N, n)
    term, total = 1.0, 1.0
    while x != end:
        if step > 0:  # term(x + 1) / term(x)
            term *= (K - x) * (n - x) / ((x + 1) * (N - K - n + x + 1))
        else:  # term(x - 1) / term(x)
            term *= x * (N - K - n + x) / ((K - x + 1) * (n - x + 1))
        x += step
        total += term
        if term < total * 1e-17:
            break
    return math.exp(log_first) * total


@lru_cache(maxsize=65536)
def suspect_p(a: int, n: int, K: int, N: int) -> float | None:
    """p when the host is suspect (a >= MIN_ERRORS and p < THRESHOLD, decided exactly), else
    None.  ``a`` errors in ``n`` ended testruns of the host on a configuration that has ``K``
    errors in ``N`` ended testruns."""
    if a < MIN_ERRORS or a * N <= n * K:
        # At or below the expected count: p >= 1/2 (a hypergeometric median is within one of
        # its mean), never suspect.
        return None
    estimate = _estimate(a, n, K, N)
    if estimate >= SCREEN_MARGIN * THRESHOLD:
        return None
    if estimate < THRESHOLD / SCREEN_MARGIN and not _small(n, N):
        return estimate  # certainly below 0.01; too large to sum exactly at every query
    num, den = tail_fraction(a, n, K, N)
    if 100 * num >= den:  # p >= 0.01, exactly (THRESHOLD = 1/100)
        return None
    return num / den
