"""The suite's clock matrix: the moments a calendar makes hard, and a
PostgreSQL server whose clock, like the suite's, is moved to each of them.

Debian's libfaketime moves the clock of every process started with it
preloaded: the suite, the Odoo servers and shells it starts, Chromium,
wkhtmltopdf, and a PostgreSQL server of the matrix's own, so that Python's
today and the database's ``now()`` agree, as on a machine whose clock says
that moment. The offset is read from one file, so the same server serves every
moment, and the clock keeps ticking from the moment on: a run that starts at
23:30 on 31 December crosses midnight as a real one would.

Only the standard library is used: devenv.py imports this before the
virtualenv exists.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

LIBFAKETIME_DIRECTORIES = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib",
    "/usr/local/lib",
)
# libfaketime reads the offset file again at most this often (seconds).
OFFSET_REREAD_SECONDS = 1
CLOCK_SITE = Path(__file__).resolve().parent / "clock_site"


def _next_day(after, matches):
    """The first day after ``after`` for which ``matches(day)`` holds."""
    day = after + timedelta(days=1)
    while not matches(day):
        day += timedelta(days=1)
    return day


def _last_sunday(day):
    return day.month != (day + timedelta(days=7)).month and day.weekday() == 6


def clock_moments(now):
    """[(name, what it is, UTC moment)]: each the next such moment after
    ``now``, so that the matrix never runs at a moment before the database
    it copies was built."""
    today = now.astimezone(UTC).date()

    def at(day, hour, minute=0):
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    saturday = _next_day(today, lambda day: day.weekday() == 5)
    return [
        ("saturday", "a Saturday", at(saturday, 10)),
        ("sunday", "a Sunday", at(saturday + timedelta(days=1), 15)),
        ("christmas", "25 December", at(_next_day(today, lambda day: (day.month, day.day) == (12, 25)), 9)),
        (
            "new-year",
            "31 December at 23:30 UTC, already 1 January at 00:30 in Brussels",
            at(_next_day(today, lambda day: (day.month, day.day) == (12, 31)), 23, 30),
        ),
        ("leap-day", "29 February", at(_next_day(today, lambda day: (day.month, day.day) == (2, 29)), 12)),
        (
            "dst-spring",
            "the night clocks go forward in Brussels, 01:45 CET (a quarter of an hour before)",
            at(_next_day(today, lambda day: day.month == 3 and _last_sunday(day)), 0, 45),
        ),
        (
            "dst-autumn",
            "the night clocks go back in Brussels, 02:45 CEST (a quarter of an hour before)",
            at(_next_day(today, lambda day: day.month == 10 and _last_sunday(day)), 0, 45),
        ),
    ]


def real_now():
    """The machine's time, also when this process runs on a matrix's clock
    itself (libfaketime's offsets count from the machine's time)."""
    now = datetime.now(UTC)
    offset_file = os.environ.get("FAKETIME_TIMESTAMP_FILE")
    if "libfaketime" in os.environ.get("LD_PRELOAD", "") and offset_file and os.path.isfile(offset_file):
        now -= timedelta(seconds=float(Path(offset_file).read_text()))
    return now


def find_libfaketime():
    for directory in LIBFAKETIME_DIRECTORIES:
        library = Path(directory) / "faketime" / "libfaketime.so.1"
        if library.is_file():
            return library
    return None


def find_postgres_bin():
    """The folder of initdb and pg_ctl: on the PATH, or Debian's newest."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parent.parent.name)
    )
    return versions[-1].parent if versions else None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeClockServer:
    """A PostgreSQL server of the matrix's own, whose clock follows the
    offset file that the suite's processes read too."""

    def __init__(self, role, libfaketime, postgres_bin):
        self.role = role
        self.libfaketime = libfaketime
        self.postgres_bin = postgres_bin
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="collections-clock-"))
        self.offset_file = self.folder / "offset"
        self.data = self.folder / "data"
        self.set_offset(0)

    def _as_server_user(self):
        # PostgreSQL refuses to run as root: as root, it runs as postgres.
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            return ["runuser", "-u", "postgres", "--"]
        return []

    def clock_environment(self):
        """The variables that put a process on the matrix's clock. Only the
        wall clock moves: a monotonic clock moved by the offset makes timed
        lock waits hang (see clock_site/sitecustomize.py, which Python
        processes load to sleep without it), except in Chromium."""
        python_path = os.pathsep.join(filter(None, [str(CLOCK_SITE), os.environ.get("PYTHONPATH")]))
        return {
            "LD_PRELOAD": str(self.libfaketime),
            "FAKETIME_TIMESTAMP_FILE": str(self.offset_file),
            "FAKETIME_CACHE_DURATION": str(OFFSET_REREAD_SECONDS),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "PYTHONPATH": python_path,
            # Chromium is the exception: clock_site/bin/chromium moves its
            # monotonic clock too.
            "PATH": os.pathsep.join([str(CLOCK_SITE / "bin"), os.environ.get("PATH", os.defpath)]),
        }

    def client_environment(self):
        return {
            **self.clock_environment(),
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": self.role,
        }

    def start(self):
        self.folder.chmod(0o755)
        prefix = self._as_server_user()
        subprocess.run(
            [
                *prefix,
                self.postgres_bin / "initdb",
                "-D",
                self.data,
                "-U",
                self.role,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        clock = [f"{name}={value}" for name, value in self.clock_environment().items()]
        subprocess.run(
            [
                *prefix,
                "env",
                *clock,
                self.postgres_bin / "pg_ctl",
                "-D",
                self.data,
                "-l",
                self.folder / "server.log",
                "-w",
                "-o",
                # No autovacuum, as on the machines the suite runs on: a test
                # keeps its rows uncommitted, so an automatic analyze records
                # its tables as empty, and the planner then takes nested
                # loops that run the simulation's KPI queries for minutes.
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c autovacuum=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return self

    def stop(self):
        subprocess.run(
            [
                *self._as_server_user(),
                self.postgres_bin / "pg_ctl",
                "-D",
                self.data,
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def set_offset(self, seconds):
        self.offset_file.write_text(f"{round(seconds):+d}\n")
        self.offset_file.chmod(0o644)

    def set_clock(self, moment):
        """Every process on the matrix's clock reads ``moment`` from now on."""
        self.set_offset((moment - real_now()).total_seconds())
        # Until then, processes may still read the offset they cached.
        time.sleep(OFFSET_REREAD_SECONDS + 1)

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()


def describe(moment):
    """The moment in UTC and in Brussels, for the matrix's report."""
    brussels = moment.astimezone(ZoneInfo("Europe/Brussels"))
    return f"{moment:%a %Y-%m-%d %H:%M} UTC ({brussels:%a %Y-%m-%d %H:%M %Z} in Brussels)"
