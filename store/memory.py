"""How a catch-up uses glibc's malloc: keep freed memory while reading, give it back after.

Reading a large history allocates tens of megabytes of temporaries per batch, in three or four
threads.  By default glibc gives each thread its own arena and hands freed memory back to the
kernel, so the next batch faults every page in again: about a third of a catch-up's system
time (on the 2-core VMs measured, ~1 ms per MB faulted).  ``keep_freed`` makes one arena that
is not trimmed, so the pages are reused (the peak is no higher); ``release_freed`` hands the
holes back once the history is read (malloc_trim) and, for a process that lives on (the
monitor, the exporter), lets glibc trim again: as its own dynamic thresholds settle for blocks
this large (mallopt turns them off for good), a free top of the heap above 64 MB is given back
and blocks up to 32 MB stay in the heap (a snapshot of a million testruns frees and allocates
arrays of ~8 MB: mapped and faulted in afresh each time otherwise).

`report` keeps from the start and releases before its summary, for the lowest peak (with the
holes kept, the summary of a million testruns reused them: ~16 ms faster, ~10 MB higher peak,
both within the machine's noise in alternated runs); a follower (store.follow) keeps
during each catch-up and releases at its first read after it (the snapshot or metrics computed
right after the catch-up reuse the pages too).  Nothing happens where glibc's mallopt does not
exist (musl, macOS).
"""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's malloc.h
_MMAP_THRESHOLD = 32 << 20  # glibc's largest: bigger blocks are mapped anyway
_TRIM_AGAIN = 64 << 20  # twice the mmap threshold, as glibc's dynamic rule sets it


def _libc():
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def keep_freed() -> None:
    """Keep what numpy frees for reuse by the next batch (one arena, never trimmed)."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return
    mallopt(_M_ARENA_MAX, 1)
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)


def release_freed(*, trim_again: bool = False) -> None:
    """Hand the freed pages back to the kernel (malloc_trim); ``trim_again``: from now on
    give back a free top of the heap above _TRIM_AGAIN (a process that lives on, after its
    catch-up)."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return
    trim(0)
    if trim_again:
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_AGAIN)
