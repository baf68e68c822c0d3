"""`trmon-tui mirror HOST:PATH LOCAL.h5` (README, "Files on other servers") over a fake SSH client
(tests/fake_ssh.py: runs the remote command here) against a live writer, its link cut in every
place; and the pieces it stands on: `tail --skip`, `--identity`, `--print-identity` and
`ingest --count`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import farm_events, write
from test_multi import seed_file

import store.writer
from store.batch import Reset
from store.tail import TailReader
from store.writer import EventWriter
from trmon_tui.commands.tail import SKIP_CONTEXT
from trmon_tui.commands.tail_identity import Guard, Refused

HELPER = os.path.join(os.path.dirname(__file__), "writer_proc.py")
FAKE_SSH = os.path.join(os.path.dirname(__file__), "fake_ssh.py")
TRMON = [sys.executable, "-m", "trmon_tui"]
REMOTE = f"{shlex.quote(sys.executable)} -m trmon_tui"  # trmon-tui on the "remote" host
# The seed file's group "lab-0" is not a Python identifier: PyTables says so, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore::tables.NaturalNameWarning")


def tail(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*TRMON, "tail", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def count(path) -> int:
    done = subprocess.run([*TRMON, "ingest", str(path), "--count"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_skip_and_count(tmp_path):
    path = tmp_path / "farm.h5"
    write(path, farm_events(41, runs=30))
    whole = tail(path).stdout.splitlines()
    assert count(path) == len(whole)
    assert count(tmp_path / "not-yet.h5") == 0 and not (tmp_path / "not-yet.h5").exists()
    skipped = tail(path, "--skip", 137)
    assert skipped.returncode == 0 and skipped.stdout.splitlines() == whole[137:]
    beyond = tail(path, "--skip", len(whole) + 5)
    assert beyond.returncode == 0 and beyond.stdout == ""
    assert f"holds {len(whole)} events, fewer than the {len(whole) + 5} to skip" in beyond.stderr


class Killed(BaseException):
    """The writer process dying, in the middle of a commit."""


def test_count_finishes_a_commit_cut_short(tmp_path, monkeypatch):
    """A killed ingest may leave a journalled commit that the next ingest replays: the count
    must include it, or the resumed mirror would hold those events twice."""
    mirror = tmp_path / "mirror.h5"
    events = farm_events(43, runs=20)
    write(mirror, events[:100])
    writer = EventWriter(str(mirror))
    for event in events[100:150]:
        writer.write(event)

    def die(_h5, _entry):
        raise Killed  # after the journal was written and fsynced, before the append

    monkeypatch.setattr(store.writer, "_append", die)
    with pytest.raises(Killed):
        writer.flush()
    monkeypatch.undo()
    assert os.path.getsize(f"{mirror}.journal") > 0
    assert len(tail(mirror).stdout.splitlines()) == 100, "a reader sees the last commit only"
    assert count(mirror) == 150 and not os.path.exists(f"{mirror}.journal")
    assert [json.loads(line) for line in tail(mirror).stdout.splitlines()] == \
        [json.loads(line) for line in _tail_of(events[:150], tmp_path)]


def _tail_of(events: list[dict], tmp_path) -> list[str]:
    """`tail` of a file holding exactly these events."""
    path = tmp_path / "expected.h5"
    write(path, events)
    return tail(path).stdout.splitlines()


def events_of(path) -> list[dict]:
    done = tail(path)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def assert_same_events(mirror, source) -> None:
    """The mirror holds the source's events, in order, none lost and none repeated."""
    mirrored, original = events_of(mirror), events_of(source)
    assert len(mirrored) == len(original)
    differ = [i for i, (a, b) in enumerate(zip(mirrored, original, strict=True)) if a != b]
    assert not differ, (differ[0], mirrored[differ[0]], original[differ[0]])


def digest(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_tail_identity_options(tmp_path):
    path, other = tmp_path / "farm.h5", tmp_path / "other.h5"
    write(path, farm_events(41, runs=10))
    write(other, farm_events(41, runs=10))
    plain = tail(path).stdout.splitlines()
    announced = tail(path, "--print-identity")
    first, *rest = announced.stdout.splitlines()
    identity = json.loads(first)["identity"]
    assert identity.startswith("trmon:") and announced.returncode == 0
    assert rest[:-1] == plain and json.loads(rest[-1]) == {"events_total": len(plain)}
    assert tail(path, "--identity", identity, "--skip", 5).stdout.splitlines() == plain[5:]
    # Another file with the same events: status 3, one line, not one event printed.
    refused = tail(other, "--identity", identity)
    assert refused.returncode == 3 and refused.stdout == ""
    assert len(refused.stderr.splitlines()) == 1 and "is another file" in refused.stderr
    machine = tail(other, "--identity", identity, "--print-identity")
    assert machine.returncode == 3 and machine.stderr == ""
    assert "is another file" in json.loads(machine.stdout)["replaced"]
    # Fewer events than the copy holds: the file lost rows the copy has.
    short = tail(path, "--identity", identity, "--skip", len(plain) + 1)
    assert short.returncode == 3 and "fewer than" in short.stderr and short.stdout == ""


def test_guard_refuses_batches_read_before_a_replacement(tmp_path):
    """A follower takes batches a reader thread read ahead: once that reader has met a Reset,
    its identity is the new file's, not the batch's, so a guarded tail must stop there."""
    path = tmp_path / "farm.h5"
    write(path, farm_events(41, runs=5))
    reader = TailReader(str(path))
    first = reader.poll()
    guard = Guard(announce=True)
    out = io.StringIO()
    guard.batch(reader, out)  # the batch of the file the reader is on: announced
    assert json.loads(out.getvalue())["identity"] == reader.identity
    write(tmp_path / "new.h5", farm_events(7, runs=5))
    os.replace(tmp_path / "new.h5", path)
    second = reader.poll()
    assert first.items and any(isinstance(i, Reset) for i in second.items)
    assert reader.resets == 1
    with pytest.raises(Refused, match="replaced while being read"):
        guard.batch(reader, out)  # say, a batch of the old file taken only now
    with pytest.raises(Refused, match="replaced"):
        guard.reset(next(i for i in second.items if isinstance(i, Reset)))
    Guard().batch(reader, out)  # without --identity/--print-identity: no guard


class Mirror:
    """A running `trmon-tui mirror lab2:SOURCE LOCAL`, over the fake SSH client unless given
    another --ssh (``extra`` comes last: its options win)."""

    def __init__(self, source, local, *extra: str, tmp_path, remote: str = REMOTE,
                 host: str = "lab2") -> None:
        self.local, self.log = local, tmp_path / "ssh.log"
        ssh = f"{shlex.quote(sys.executable)} {shlex.quote(FAKE_SSH)} -o BatchMode=yes"
        self.proc = subprocess.Popen(
            [*TRMON, "mirror", f"{host}:{source}", str(local), "--ssh", ssh, "--remote-command",
             remote, "--progress", "1", *extra], stderr=subprocess.PIPE, text=True,
            env={**os.environ, "FAKE_SSH_LOG": str(self.log)})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, what, timeout: float = 90.0) -> None:
        """Until what() is true; the mirror must keep running meanwhile."""
        deadline = time.monotonic() + timeout
        while not what():
            assert self.proc.poll() is None, f"the mirror ended: {self.stderr}"
            assert time.monotonic() < deadline, f"gave up waiting: {self.stderr}"
            time.sleep(0.1)

    def wait_for_events(self, n: int) -> int:
        self.wait_for(lambda: count(self.local) >= n)
        return count(self.local)

    def transport(self) -> tuple[int, int]:
        """(pid of the fake SSH client, pid of the remote command's shell) of the last link."""
        with open(self.log) as f:
            ssh, shell = f.read().splitlines()[-1].split()[:2]
        return int(ssh), int(shell)

    def remote_tail(self) -> int:
        """The pid of the remote `tail` of the last link (the shell, or a child it started)."""
        _, shell = self.transport()
        for pid in [shell, *_children(shell)]:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"tail" in f.read().split(b"\0"):
                    return pid
        raise AssertionError("no remote tail running")

    def wait_for_end(self, pids, timeout: float = 30.0) -> None:
        """Until none of these processes runs any more (a zombie has ended)."""
        deadline = time.monotonic() + timeout
        while any(_running(pid) for pid in pids):
            assert time.monotonic() < deadline, f"still running: {pids}"
            time.sleep(0.1)

    def end(self, signum=signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        return self.finish()

    def finish(self) -> int:
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _links(mirror: Mirror) -> int:
    return len(mirror.log.read_text().splitlines()) if mirror.log.exists() else 0


def test_mirror_resumes_exactly_after_every_cut(tmp_path):
    """The remote tail killed, the SSH client killed, the mirror killed and started again, each
    while a writer appends: the mirror ends up with the source's events, each exactly once."""
    source, local = tmp_path / "lab2.h5", tmp_path / "mirror" / "lab2.h5"
    local.parent.mkdir()
    write(source, farm_events(42, runs=60))  # requests with attributes, errors, unknown names
    history = count(source)
    writer = subprocess.Popen([sys.executable, HELPER, "write", str(source), "--count",
                               "20000", "--batch", "100", "--rate", "1000", "--interval",
                               "0.05"], stdout=subprocess.DEVNULL)
    try:
        first = Mirror(source, local, tmp_path=tmp_path)
        held = first.wait_for_events(history + 1000)
        os.kill(first.remote_tail(), signal.SIGKILL)  # the remote tail dies
        first.wait_for(lambda: _links(first) == 2)
        held = first.wait_for_events(held + 1000)
        os.kill(first.transport()[0], signal.SIGKILL)  # the SSH client dies
        first.wait_for(lambda: _links(first) == 3)
        first.wait_for_events(held + 1000)
        first.proc.kill()  # the mirror itself dies, perhaps in the middle of a commit
        first.finish()
        first.wait_for_end(first.transport())  # no SSH client or remote tail outlives it
        assert first.stderr.count("reconnecting in 1 s") == 2, first.stderr
        second = Mirror(source, local, tmp_path=tmp_path)
        assert writer.wait(timeout=180) == 0
        second.wait_for_events(count(source))
        assert second.end() == 0, second.stderr
    finally:
        writer.kill()
        writer.wait()
    assert_same_events(local, source)
    assert count(local) == history + 20000
    assert "Traceback" not in first.stderr + second.stderr
    assert "stopped;" in second.lines[-1]
    assert "0 behind the source" in second.stderr  # progress said, caught up at the end
    second.wait_for_end(second.transport())


def test_a_replaced_source_is_refused_and_restart_keeps_the_old_mirror(tmp_path):
    source, local, old = tmp_path / "lab2.h5", tmp_path / "local.h5", tmp_path / "old.h5"
    write(source, farm_events(42, runs=20))
    os.link(source, old)  # the first source, still readable once replaced
    running = Mirror(source, local, tmp_path=tmp_path)
    running.wait_for_events(count(source))
    # Replaced while mirrored: it stops by itself, not one event of the other file appended.
    write(tmp_path / "new.h5", farm_events(7, runs=25))
    os.replace(tmp_path / "new.h5", source)
    assert running.finish() == 3, running.stderr
    assert "was replaced" in running.lines[-1] and "--restart" in running.lines[-1]
    assert_same_events(local, old)
    # Started again on the replaced source: one line, status 3, the copy untouched.
    before = digest(local)
    again = Mirror(source, local, tmp_path=tmp_path)
    assert again.finish() == 3
    assert len(again.lines) == 1 and "was replaced" in again.stderr, again.stderr
    assert digest(local) == before
    # --restart: the old copy kept as LOCAL.1, a fresh one made of the new source.
    fresh = Mirror(source, local, "--restart", tmp_path=tmp_path)
    fresh.wait_for_events(count(source))
    assert_same_events(f"{local}.1", old)
    assert_same_events(local, source)
    # Replaced again while it runs with --restart: LOCAL.2, and it goes on with the newest.
    os.link(source, tmp_path / "second.h5")
    write(tmp_path / "new.h5", farm_events(8, runs=5))
    os.replace(tmp_path / "new.h5", source)
    fresh.wait_for(lambda: os.path.exists(f"{local}.2"))
    fresh.wait_for_events(count(source))
    assert fresh.end(signal.SIGINT) == 0, fresh.stderr
    assert_same_events(f"{local}.2", tmp_path / "second.h5")
    assert_same_events(local, source)
    assert "Traceback" not in running.stderr + fresh.stderr


def test_a_seed_layout_source(tmp_path):
    """A seed-layout file has no file id: its identity is its inode (see TailReader.identity)."""
    source, local = tmp_path / "seed.h5", tmp_path / "local.h5"
    seed_file(source)
    mirror = Mirror(source, local, tmp_path=tmp_path)
    mirror.wait_for_events(8)
    assert mirror.end() == 0, mirror.stderr
    assert_same_events(local, source)
    stat = os.stat(source)
    assert f"(seed:{stat.st_dev}:{stat.st_ino})" in mirror.stderr
    shutil.copy(source, tmp_path / "copy.h5")
    os.replace(tmp_path / "copy.h5", source)  # the same rows, but another file
    again = Mirror(source, local, tmp_path=tmp_path)
    assert again.finish() == 3 and "was replaced" in again.stderr


def test_one_mirror_per_copy(tmp_path):
    """A second mirror of the same copy (say, started by hand beside the service) would append
    every event twice: it is refused while the first runs."""
    source, local = tmp_path / "lab2.h5", tmp_path / "local.h5"
    write(source, farm_events(42, runs=5))
    first = Mirror(source, local, tmp_path=tmp_path)
    first.wait_for(lambda: "following" in first.stderr)
    second = Mirror(source, local, tmp_path=tmp_path)
    assert second.finish() == 2 and "another mirror is writing" in second.stderr
    assert first.end() == 0
    assert_same_events(local, source)


def test_back_off_and_a_clean_stop_while_waiting(tmp_path):
    """A remote command that keeps failing: 1 s, 2 s, 4 s ... between tries; SIGINT ends it
    at once with status 0."""
    mirror = Mirror(tmp_path / "lab2.h5", tmp_path / "local.h5", tmp_path=tmp_path,
                    remote="exit 1; :")
    mirror.wait_for(lambda: "reconnecting in 4 s" in mirror.stderr)
    assert mirror.end(signal.SIGINT) == 0
    waits = [line.rsplit("reconnecting in ", 1)[1] for line in mirror.lines
             if "reconnecting in" in line]
    assert waits[:3] == ["1 s", "2 s", "4 s"] and "status 1" in mirror.lines[0]
    assert "stopped;" in mirror.lines[-1]
    assert count(tmp_path / "local.h5") == 0


def test_refusals_at_the_start(tmp_path):
    """Usage errors and a copy the mirror cannot continue: one line, status 2."""
    made_by_ingest = tmp_path / "ingested.h5"
    write(made_by_ingest, farm_events(3, runs=2))
    cases = [(["lab2-no-path", str(tmp_path / "a.h5")], "is not HOST:PATH"),
             (["lab2:/x.h5", str(made_by_ingest)], "no recorded source"),
             (["lab2:/x.h5", str(tmp_path / "a.h5"), "--ssh", ""], "--ssh is empty"),
             (["lab2:/x.h5", str(tmp_path / "no-such-dir" / "a.h5")], "cannot create")]
    for args, message in cases:
        done = subprocess.run([*TRMON, "mirror", *args], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 1


def _real_sshd(tmp_path) -> tuple[subprocess.Popen, str]:
    """OpenSSH's sshd on 127.0.0.1 with a throwaway host key and user key (root only: sshd
    needs its privilege separation); the --ssh command that reaches it."""
    sshd, keygen = "/usr/sbin/sshd", shutil.which("ssh-keygen")
    if not (os.path.exists(sshd) and keygen and shutil.which("ssh")) or os.geteuid() != 0:
        pytest.skip("needs OpenSSH (sshd, ssh, ssh-keygen) and root")
    os.makedirs("/run/sshd", exist_ok=True)
    for key in ("host_key", "user_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / key)],
                       check=True)
    shutil.copy(tmp_path / "user_key.pub", tmp_path / "authorized_keys")
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {tmp_path / 'host_key'}\n"
        f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\n")
    server = subprocess.Popen([sshd, "-D", "-e", "-f", str(tmp_path / "sshd_config")],
                              stderr=subprocess.DEVNULL)
    ssh = (f"ssh -o BatchMode=yes -o ServerAliveInterval=15 -o StrictHostKeyChecking=no "
           f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p {port} "
           f"-i {tmp_path / 'user_key'}")
    deadline = time.monotonic() + 30
    while subprocess.run([*shlex.split(ssh), "127.0.0.1", "true"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.skip("sshd did not start")
        time.sleep(0.2)
    return server, ssh


def test_over_real_openssh(tmp_path):
    """The real SSH client and server on the loopback: the link cut (the client killed) while a
    writer appends, then the source replaced."""
    server, ssh = _real_sshd(tmp_path)
    source, local = tmp_path / "lab2.h5", tmp_path / "local.h5"
    write(source, farm_events(42, runs=20))
    writer = subprocess.Popen([sys.executable, HELPER, "write", str(source), "--count",
                               "6000", "--batch", "100", "--rate", "1000", "--interval",
                               "0.05"], stdout=subprocess.DEVNULL)
    remote = shlex.quote(os.path.join(os.path.dirname(sys.executable), "trmon-tui"))
    real = ("--ssh", ssh, "--remote-command", remote)
    try:
        mirror = Mirror(source, local, *real, tmp_path=tmp_path, host="127.0.0.1")
        mirror.wait_for(lambda: "following" in mirror.stderr)
        mirror.wait_for_events(1000)
        client = [pid for pid in _children(mirror.proc.pid)
                  if open(f"/proc/{pid}/comm").read().strip() == "ssh"]
        os.kill(client[0], signal.SIGKILL)
        assert writer.wait(timeout=120) == 0
        mirror.wait_for_events(count(source))
        assert mirror.end() == 0, mirror.stderr
        assert "reconnecting in 1 s" in mirror.stderr
        assert_same_events(local, source)
        assert not mirror.log.exists(), "the fake SSH client was used"
        write(tmp_path / "new.h5", farm_events(7, runs=5))
        os.replace(tmp_path / "new.h5", source)
        refused = Mirror(source, local, *real, tmp_path=tmp_path, host="127.0.0.1")
        assert refused.finish() == 3 and "was replaced" in refused.stderr
        assert len(refused.lines) == 1, refused.stderr
    finally:
        writer.kill()
        writer.wait()
        server.terminate()
        server.wait()


def test_restart_keeps_a_copy_of_no_recorded_source(tmp_path):
    """A file `ingest` made (the old shell loop's mirror) has no recorded source: --restart
    keeps it as LOCAL.1 and starts afresh."""
    local = tmp_path / "local.h5"
    write(local, farm_events(3, runs=2))
    before = events_of(local)
    mirror = Mirror(tmp_path / "lab2.h5", local, "--restart", tmp_path=tmp_path,
                    remote="exit 1; :")
    mirror.wait_for(lambda: "reconnecting" in mirror.stderr)
    assert mirror.end() == 0
    assert "no recorded source" in mirror.lines[0] and f"{local}.1" in mirror.lines[0]
    assert events_of(f"{local}.1") == before and count(local) == 0


def test_a_path_the_remote_shell_would_split(tmp_path):
    """SSH joins the remote words into one shell command line: every argument is quoted."""
    source, local = tmp_path / "lab 2 $HOME 'x';.h5", tmp_path / "local.h5"
    write(source, farm_events(9, runs=4))
    mirror = Mirror(source, local, tmp_path=tmp_path)
    mirror.wait_for_events(count(source))
    assert mirror.end() == 0, mirror.stderr
    assert_same_events(local, source)


def test_a_resume_far_into_the_source_seeks(tmp_path):
    """Past tail's SKIP_CONTEXT the remote reader starts near the copy's count instead of at
    row 0: the resumed copy is still exact."""
    source, local = tmp_path / "lab2.h5", tmp_path / "local.h5"
    made = subprocess.run([*TRMON, "generate", str(source), "--runs", "15000", "--seed", "4"],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    total = count(source)
    assert total > SKIP_CONTEXT + 30_000
    first = Mirror(source, local, tmp_path=tmp_path)
    first.wait_for_events(SKIP_CONTEXT + 20_000)
    first.proc.kill()
    first.finish()
    second = Mirror(source, local, tmp_path=tmp_path)
    second.wait_for_events(total)
    assert second.end() == 0, second.stderr
    skip = int(second.log.read_text().splitlines()[-1].split("--skip ")[1].split()[0])
    assert skip > SKIP_CONTEXT + 20_000 - 1
    assert_same_events(local, source)
