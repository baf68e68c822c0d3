"""Help screen (? or F1): keys, panes and what the states mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# trmon-tui — live test farm monitor

| Key | Does |
|---|---|
| `1`–`8` | Overview · Testruns · Time and motion · Statistics · Events · Hosts · Trends · \
Failures |
| `q` | quit |
| `p` | pause / resume the display (reading goes on) |
| `g` | narrow every pane to one device group |
| `f` | each file: state, events, testruns, trouble |
| `t` | time window: all · 24h · 7d (testruns requested since) |
| `/` | filter the testruns (id, group, phase, host, requestor) |
| `s` | sort the testruns (newest · overdue · longest · group · testrun · requestor) |
| `Enter` | open the selected testrun (attributes, event timeline, error), host, error \
type (its latest testruns) or configuration (its hosts) |
| `Tab` | the pane's next table (Failures: types, configurations) |
| `h` | trends by hour or by day |
| `c` | trends: the last 24h, then 7d, against the period before (again: the trend rows) |
| `<` `>` | look back: the farm one hour earlier / later (`>` reaching now is live again) |
| `L` | live again |
| `[` `]` / `PgUp` `PgDn` | page the chart (newer / older testruns) |
| `r` | reload the file from scratch |
| `Ctrl+P` | command palette: every action by name |
| `?` / `F1` | this help; `Esc` closes |

**Status bar**: LIVE (reading), LOADING (history still being read, with a progress bar),
PAUSED, WAITING (file missing or not yet written), LOCKED (a writer holds the file), ERROR
(unreadable: retried on each poll), `AT 2026-12-07 03:00 UTC` (looking back, `--at T` or `<`:
the farm as it stood then; nothing is read after it, ages are measured to it). File trouble
never stops the monitor.

**Looking back**: `<` / `>` move the time looked at by an hour, keeping the pane, group,
window and selection; the files are read again up to that moment (only events received by
then count). `L`, or `>` up to now, is live again.

**Overview**: per device group; `done` = finished, `err` = errors, `oldest` = the longest wait
of a queued testrun, `hosts` = hosts busy now / hosts of its testruns, `overdue` = testruns in a
phase for longer than its p95 in their group. `✗` before the hosts marks a **starved** group:
testruns have waited over 10 minutes and none runs (its devices are down, broken or taken
away); the line above the event counts names it, the status bar counts them.

**Alerts**: a notification when a host turns bad or a group becomes starved, once per change
(`--bell` also rings the bell). What is so when the history has been read is not an alert.
Alerts watch every testrun of every file, whatever the window and group shown.

**Overdue**: a queued or ongoing testrun in its phase (queue, flash, boot, test, publish) for
longer than the p95 of that phase in its device group (with at least 20 samples). The testruns
pane marks it `!` in red before its time; the status bar counts them. Ages are measured to
the clock, or to `--now EPOCH` when given.

**Several files** (`trmon-tui lab1=A.h5 lab2=B.h5`): device groups are named LABEL/GROUP; the
status bar shows each file's state (`lab1 LIVE · lab2 WAITING`), or counts them by state when
they do not fit; the first word is the worst file's. One bad file never stops the others;
when a file is replaced, every file is read again.

**Chart**: one bar per testrun, newest on top; segments init · queue · flash · boot · test ·
publish. `*` marks a running testrun; its current phase has the hatched fill and grows to now.
`✗` (and a red label) marks a testrun that ended in error.

**Hosts**: one row per worker host, worst first: `✗ bad` (its last 3 or more ended testruns
failed in a row: the streak), `! suspect` (3 or more errors and at least twice the error % of
all), `✓ good`. `infra` = errors before the tests started (flashing or booting failed: the
device or the farm). `busy`: a testrun occupies it now; `1h %` / `24h %`: how much of the last
hour / day one did. `Enter` lists the host's latest testruns, the phase each reached and its
error.

**Failures**: the error testruns by category (the config file's rules first, else `infra`:
failed before its tests started, else `test`); the error types (the error text before its first
`:`): testruns, hosts, last seen; the configurations by error %, with the hosts suspect for
each: `! host (errors/ended)`, at least 3 errors on it and p < 0.01 in a one-sided Fisher test
against the other hosts on that configuration (the host, not the image, is broken). `Enter`
on a type lists its latest testruns; on a configuration, its hosts with their p (`Enter`
on a host: its latest testruns).

**Trends**: testruns per UTC hour or day of their request, over the window of `t` (by hour for
24h, by day for longer; `h` switches): finished and errors stacked, error %, p50 / p95 of the
testrun time (`run`) and of the queue wait (`wait`). `c` compares instead the testruns
requested in the last 24h (again: 7d) before now, or the time looked at, with the period before,
for the group of `g`: counts, error %, testrun and queue p50 / p95, then the change of the mean
testrun time split by phase, the phase that moved most first (`trmon-tui report --compare`).

**Statistics**: durations per phase (n, min, max, mean, std, p50, p95); move the cursor to a
phase to see its histogram. Iterations count flash/boot/test attempts per testrun.
"""


class HelpScreen(ModalScreen[None]):
    """Markdown help; any of Esc, q, ?, F1 closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="close_help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
