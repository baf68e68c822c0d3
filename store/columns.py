"""Growable numpy storage for per-run columns and sample logs (statistics engine, catalog).

Both grow by doubling their capacity, so appending is amortised O(rows appended).  Capacity is
allocated with ``np.empty`` and only the rows in use are ever written: the operating system maps
untouched pages lazily, so the unused half of a doubled array costs address space, not memory.
"""

from __future__ import annotations

import numpy as np

_MIN_CAPACITY = 1024


def _grown(capacity: int, needed: int) -> int:
    capacity = max(capacity, _MIN_CAPACITY)
    while capacity < needed:
        capacity *= 2
    return capacity


class RunColumns:
    """Arrays indexed by dense run index, all of the same length ``n`` (rows in use).

    ``spec`` maps a field name to ``(dtype, fill, extra_shape)``; a new row starts at ``fill``.
    Fields are plain attributes holding the full-capacity array: index them with run indices < n.
    A field with an extra shape ``(k,)`` is k columns, stored column-major as shape
    ``(k, capacity)`` (index ``field[j, runs]``): queries read one column over every run, and
    a contiguous column is several times faster to scan than a strided one.
    """

    def __init__(self, spec: dict[str, tuple[type, object, tuple[int, ...]]]) -> None:
        self._spec = spec
        self.n = 0
        self._capacity = 0
        for name, (dtype, _fill, extra) in spec.items():
            setattr(self, name, np.empty((*extra, 0), dtype=dtype))

    @property
    def capacity(self) -> int:
        """Rows that fit before the arrays move (``ensure`` beyond reallocates them)."""
        return self._capacity

    def ensure(self, n: int) -> None:
        """Make rows ``[0, n)`` valid, new rows set to their fill value."""
        if n <= self.n:
            return
        if n > self._capacity:
            # Room for twice the rows needed: a history read in batches then rarely copies
            # (untouched capacity is address space only).
            self.reserve(2 * n)
        for name, (_dtype, fill, _extra) in self._spec.items():
            if fill != 0:  # the capacity beyond n is zeros (np.zeros, see reserve)
                getattr(self, name)[..., self.n : n] = fill
        self.n = n

    def reserve(self, rows: int) -> None:
        """Make room for at least ``rows`` rows, so that growing to them copies nothing."""
        if rows <= self._capacity:
            return
        capacity = _grown(self._capacity, rows)
        for name, (_dtype, _fill, extra) in self._spec.items():
            old = getattr(self, name)
            # np.zeros maps zero pages lazily: the unused capacity costs address space only,
            # and its pages are first touched by the writes of the rows taken into use.
            new = np.zeros((*extra, capacity), dtype=old.dtype)  # widen() may have changed it
            new[..., : self.n] = old[..., : self.n]
            setattr(self, name, new)
        self._capacity = capacity


    def widen(self, name: str, dtype) -> None:
        """Give field ``name`` a wider dtype (its values kept): a narrow field whose values
        may outgrow it is widened before they do."""
        old = getattr(self, name)
        new = np.zeros(old.shape, dtype=dtype)
        new[..., : self.n] = old[..., : self.n]
        setattr(self, name, new)


class BytesColumn:
    """Per-run byte strings (testrun ids) whose width follows the longest value seen.

    A fixed S64 column would cost 64 MB per million runs; ids are usually much shorter.
    """

    def __init__(self) -> None:
        self.data = np.empty(0, dtype="S1")
        self.n = 0

    def put(self, start: int, values: np.ndarray) -> None:
        """Store ``values`` at rows ``[start, start + len(values))``, growing as needed."""
        values = self._fitted(values)
        end = start + len(values)
        self._reserve(end, values)
        self.data[start:end] = values
        self.n = max(self.n, end)

    def _fitted(self, values: np.ndarray) -> np.ndarray:
        """``values`` as contiguous bytes, trimmed when wider than the column (only then does
        the width of their content matter)."""
        values = np.ascontiguousarray(values)  # a field of a table: one strided copy
        if values.dtype.kind != "S":
            values = values.astype("S")
        return trimmed(values) if values.dtype.itemsize > self.data.dtype.itemsize else values

    def _reserve(self, end: int, values: np.ndarray) -> None:
        """Room for rows [0, end) as wide as the widest of the old data and (trimmed)
        ``values``."""
        width = max(self.data.dtype.itemsize, values.dtype.itemsize)
        if end > len(self.data) or width > self.data.dtype.itemsize:
            capacity = _grown(len(self.data), end) if end > len(self.data) else len(self.data)
            new = np.zeros(capacity, dtype=f"S{width}")
            new[: self.n] = self.data[: self.n]
            self.data = new

    def get(self, runs: np.ndarray) -> list[str]:
        """Decoded values of the given runs ("" for runs without a row)."""
        runs = np.asarray(runs, dtype=np.int64)
        out = np.zeros(len(runs), dtype=self.data.dtype)
        ok = runs < self.n
        out[ok] = self.data[runs[ok]]
        return [v.decode("utf-8", "replace") for v in out.tolist()]


def trimmed(values: np.ndarray) -> np.ndarray:
    """Byte strings as a contiguous array exactly as wide as the longest value."""
    values = np.ascontiguousarray(values)  # a field of a table: one strided copy
    if values.dtype.kind != "S":
        values = values.astype("S")
    width = _content_width(values)
    return values if values.dtype.itemsize == width else values.astype(f"S{width}")


def _content_width(values: np.ndarray) -> int:
    """Length of the longest value (trailing NULs stripped), at least 1."""
    if len(values) == 0:
        return 1
    size = values.dtype.itemsize
    if size % 8 or not values.flags.c_contiguous:
        return max(1, int(np.char.str_len(values).max()))
    # The last non-NUL byte of any value is the last non-NUL byte of the OR of all values,
    # word by word: one pass, no per-value lengths.  Rows of 64 values keep the reduction's
    # inner loop long (word positions line up: a row is a whole number of values).
    words = size // 8
    flat = values.view(np.uint64)
    m = len(flat) // (64 * words) * (64 * words)
    acc = np.bitwise_or.reduce(flat[m:].reshape(-1, words), axis=0)
    if m:
        wide = np.bitwise_or.reduce(flat[:m].reshape(-1, 64 * words), axis=0)
        acc |= np.bitwise_or.reduce(wide.reshape(-1, words), axis=0)
    nonzero = np.flatnonzero(acc.view(np.uint8))
    return int(nonzero[-1]) + 1 if len(nonzero) else 1


class SampleLog:
    """Append-only columns of equal length (e.g. run index + duration), doubling capacity."""

    def __init__(self, dtypes: dict[str, type]) -> None:
        self._dtypes = dtypes
        self.n = 0
        self._cols = {name: np.empty(0, dtype=dt) for name, dt in dtypes.items()}

    def append(self, expect: float = 1.0, **columns: np.ndarray) -> None:
        """Append equal-length arrays, one per column.  ``expect``: how many appends of about
        this size are likely to come, this one included (a reader catching up knows): when
        the log must grow it makes room for them all at once rather than doubling again and
        again (each time a copy of everything)."""
        k = len(next(iter(columns.values())))
        if k == 0:
            return
        end = self.n + k
        if end > self.capacity:
            self.reserve(max(_grown(self.capacity, end), int(self.n + k * expect * 1.05)))
        for name, values in columns.items():
            self._cols[name][self.n : end] = values
        self.n = end

    @property
    def capacity(self) -> int:
        return len(next(iter(self._cols.values())))

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (a copy of the rows in use)."""
        if rows <= self.capacity:
            return
        for name, old in self._cols.items():
            new = np.empty(rows, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            self._cols[name] = new

    def __getitem__(self, name: str) -> np.ndarray:
        """The rows in use of one column (a view: do not keep it across appends)."""
        return self._cols[name][: self.n]

    def __len__(self) -> int:
        return self.n

    def __contains__(self, name: str) -> bool:
        """Whether the log has column ``name``."""
        return name in self._cols
