"""store.stats.matching: the sort-free match_simple (one pair per run, or runs that retry with
start, end, start, end, ...) pairs exactly as the general LIFO match does, across batches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from store.stats import matching


def sequences():
    """Per run a list of True (start) / False (end); mostly alternating, sometimes not."""
    alternating = st.integers(0, 9).map(lambda k: [i % 2 == 0 for i in range(k)])
    anything = st.lists(st.booleans(), max_size=8)
    return st.lists(st.one_of(alternating, alternating, anything), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(runs=sequences(), seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.floats(0, 1),
                                                                        max_size=3))
def test_simple_equals_general(runs, seed, cuts):
    rng = np.random.default_rng(seed)
    # Interleave the runs' events at random, each run's in its own order.
    events = [(r, s) for r, seq in enumerate(runs) for s in seq]
    order = rng.permutation(len(events))
    per_run_next = {r: 0 for r in range(len(runs))}
    stream = []
    for r, _ in (events[i] for i in order):
        stream.append((r, runs[r][per_run_next[r]]))
        per_run_next[r] += 1
    run = np.array([r for r, _ in stream], np.int64)
    is_start = np.array([s for _, s in stream], bool)
    t = rng.uniform(0, 100, len(stream))
    bounds = sorted({0, len(stream), *(int(c * len(stream)) for c in cuts)})
    general, simple = matching.Pool.empty(), matching.Pool.empty()
    marks = np.zeros(len(runs) + 1, bool)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        r, s, tt = run[lo:hi], is_start[lo:hi], t[lo:hi]
        pos, row = np.arange(hi - lo), np.arange(lo, hi)
        want = matching.match(r, s, tt, row, pos, general, marks)
        general = want.pool
        st_, en = np.flatnonzero(s), np.flatnonzero(~s)
        got = matching.match_simple((r[st_], tt[st_], row[st_], pos[st_]),
                                    (r[en], tt[en], None, pos[en]), simple)
        if got is None:  # not its case: the general path does it
            got = matching.match(r, s, tt, row, pos, simple, marks)
        else:
            assert len(want.orphan_runs) == 0
        simple = got.pool
        assert sorted(zip(got.end_pos.tolist(), got.run.tolist(), got.duration.tolist(),
                          strict=True)) == \
            sorted(zip(want.end_pos.tolist(), want.run.tolist(), want.duration.tolist(),
                       strict=True))
        assert sorted(got.orphan_runs.tolist()) == sorted(want.orphan_runs.tolist())
        assert sorted(zip(simple.run.tolist(), simple.row.tolist(), simple.t.tolist(),
                          strict=True)) == \
            sorted(zip(general.run.tolist(), general.row.tolist(), general.t.tolist(),
                       strict=True))
        if got.end_rank is not None:  # each pair's rank among its run's pairs, file order
            for k, (run_k, end_k) in enumerate(zip(got.run, got.end_pos, strict=True)):
                earlier = (got.run == run_k) & (got.end_pos < end_k)
                assert got.end_rank[k] == int(earlier.sum())
