"""The SUMMARY keys of DESIGN.md "Why it waits, and why it fails": hosts busy now and over the
last hour and day, starved groups, failures (capacity.py and failures.py compute them)."""

from __future__ import annotations

from store.stats.capacity import Occupancy, hosts_counts, starved
from store.stats.failures import Labels, failures


def add_why(f, parts: list[dict], whole: dict | None, labels: Labels | None) -> None:
    """Add to every group's SUMMARY (``parts``) and to "all" (``whole``, None when the query
    is of one group): ``hosts_total``, ``hosts_busy``, ``starved``, in "all"
    ``starved_groups``; ``busy``, ``busy_1h``, ``busy_24h`` in each "hosts" entry (where the
    SUMMARY has "hosts"); and "failures" unless ``labels`` is None."""
    per_group, of_all = hosts_counts(f)
    with_hosts = any("hosts" in part for part in parts) or (whole is not None and "hosts" in whole)
    occupancy = Occupancy(f) if with_hosts else None
    id_of = f.st.hosts.id_of
    scopes = list(enumerate(parts)) + ([(None, whole)] if whole is not None else [])
    for g, part in scopes:
        part["hosts_total"], part["hosts_busy"] = of_all if g is None else per_group[g]
        if occupancy is not None and "hosts" in part:
            for name, entry in part["hosts"].items():
                entry.update(occupancy.figures(g, id_of(name)))
    for part in parts:
        part["starved"] = starved(part)
    if whole is not None:
        whole["starved_groups"] = [name for name, part in zip(f.group_names, parts, strict=True)
                                   if part["starved"]]
        whole["starved"] = bool(whole["starved_groups"])
    if labels is not None:
        fails, fails_all = failures(f, labels, whole is not None)
        for part, value in zip(parts, fails, strict=True):
            part["failures"] = value
        if whole is not None:
            whole["failures"] = fails_all
