"""The SUMMARY keys of DESIGN.md "Why it waits, and why it fails": hosts busy now and over the
last hour and day, starved groups, failures (capacity.py and failures.py compute them).

In two steps, so that the summary can run the first beside its other work: ``why_figures``
needs only the frame (a job for one of the summary's threads), ``add_why`` puts its figures
into the finished SUMMARY dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.stats.capacity import Occupancy, hosts_counts, starved
from store.stats.failures import Labels, failures


@dataclass
class WhyFigures:
    """What add_why adds, computed from the frame alone."""

    per_group: list[tuple[int, int]]
    of_all: tuple[int, int]
    occupancy: Occupancy | None
    failures: tuple[list[dict], dict | None] | None


def why_figures(f, labels: Labels | None, with_hosts: bool, with_all: bool) -> WhyFigures:
    """Hosts total and busy per group and of all, the hosts' occupancy (``with_hosts``: when
    the SUMMARY has "hosts") and the failures (unless ``labels`` is None)."""
    per_group, of_all = hosts_counts(f)
    return WhyFigures(per_group, of_all, Occupancy(f) if with_hosts else None,
                      None if labels is None else failures(f, labels, with_all))


def add_why(f, parts: list[dict], whole: dict | None, figures: WhyFigures) -> None:
    """Add to every group's SUMMARY (``parts``) and to "all" (``whole``, None when the query
    is of one group): ``hosts_total``, ``hosts_busy``, ``starved``, in "all"
    ``starved_groups``; ``busy``, ``busy_1h``, ``busy_24h`` in each "hosts" entry (where the
    SUMMARY has "hosts"); and "failures" when figures has them."""
    occupancy = figures.occupancy
    id_of = f.st.hosts.id_of
    scopes = list(enumerate(parts)) + ([(None, whole)] if whole is not None else [])
    for g, part in scopes:
        part["hosts_total"], part["hosts_busy"] = (figures.of_all if g is None
                                                   else figures.per_group[g])
        if occupancy is not None and "hosts" in part:
            for name, entry in part["hosts"].items():
                entry.update(occupancy.figures(g, id_of(name)))
    for part in parts:
        part["starved"] = starved(part)
    if whole is not None:
        whole["starved_groups"] = [name for name, part in zip(f.group_names, parts, strict=True)
                                   if part["starved"]]
        whole["starved"] = bool(whole["starved_groups"])
    if figures.failures is not None:
        fails, fails_all = figures.failures
        for part, value in zip(parts, fails, strict=True):
            part["failures"] = value
        if whole is not None:
            whole["failures"] = fails_all
