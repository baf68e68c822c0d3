"""store.columns: the id width by OR of words equals the longest value; run columns fill."""

import numpy as np
import pytest

from store.columns import BytesColumn, RunColumns, _content_width


@pytest.mark.parametrize("width", [3, 8, 16, 24, 64])
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1000])
def test_content_width_equals_longest_value(width, n):
    rng = np.random.default_rng(n * 100 + width)
    lens = rng.integers(0, width + 1, n)
    # Any byte values, interior NULs included (they count; trailing NULs do not).
    values = np.array([bytes(rng.integers(0, 256, k).astype(np.uint8)) for k in lens],
                      dtype=f"S{width}") if n else np.zeros(0, f"S{width}")
    expected = max(1, int(np.char.str_len(values).max())) if n else 1
    assert _content_width(values) == expected
    strided = np.zeros(n, dtype=[("x", "i2"), ("id", f"S{width}")])
    strided["id"] = values
    assert _content_width(strided["id"]) == expected


def test_bytes_column_from_a_strided_field():
    rows = np.zeros(3, dtype=[("testrun_id", "S64"), ("group", "<i4")])
    rows["testrun_id"] = [b"a", b"bbb", b""]
    col = BytesColumn()
    col.put(0, rows["testrun_id"])
    col.put(3, np.array([b"x" * 20], "S64"))
    assert col.data.dtype.itemsize == 20
    assert col.get(np.array([0, 1, 2, 3, 9])) == ["a", "bbb", "", "x" * 20, ""]


def test_run_columns_fill_new_rows_across_growth():
    cols = RunColumns({"a": (np.float64, np.nan, ()), "c": (np.int32, 0, (3,)),
                       "s": (np.int32, -1, ())})
    for n in (5, 5, 1500, 1501, 5000):
        cols.ensure(n)
        cols.a[: cols.n] = np.where(np.isnan(cols.a[: cols.n]), 1.0, cols.a[: cols.n] + 1)
        cols.c[:, : cols.n] += 1
    assert cols.n == 5000 and cols.c.shape[0] == 3  # column-major: (3, capacity)
    assert cols.c[:, :5].T.tolist() == [[5, 5, 5]] * 5  # present in all 5 rounds
    assert cols.c[:, 1501:5000].T.tolist() == [[1, 1, 1]] * 3499
    assert (cols.s[:5000] == -1).all()
    assert cols.a[0] == 5.0 and cols.a[4999] == 1.0

