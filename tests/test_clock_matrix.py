"""The clock matrix's moments are the hard ones it names, the next of each,
and the server it starts follows the offset the suite's processes read."""

import getpass
import os
import resource
import shutil
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import clock_matrix
import pytest

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 5, 20, 0, tzinfo=UTC),  # a Saturday evening in December
        datetime(2027, 12, 31, 23, 45, tzinfo=UTC),  # after that year's last moment
        datetime(2028, 2, 29, 12, 0, tzinfo=UTC),  # on a leap day itself
    ],
)
def test_each_moment_is_the_next_of_its_kind(now):
    moments = {name: moment for name, _what, moment in clock_matrix.clock_moments(now)}
    assert set(moments) == {
        "saturday",
        "sunday",
        "christmas",
        "new-year",
        "leap-day",
        "dst-spring",
        "dst-autumn",
    }
    assert all(now < moment < now + timedelta(days=366 * 4) for moment in moments.values())
    assert moments["saturday"].weekday() == 5
    assert moments["sunday"].weekday() == 6
    assert (moments["christmas"].month, moments["christmas"].day) == (12, 25)
    new_year = moments["new-year"]
    assert (new_year.month, new_year.day, new_year.hour, new_year.minute) == (12, 31, 23, 30)
    in_brussels = new_year.astimezone(BRUSSELS)
    assert (in_brussels.month, in_brussels.day, in_brussels.hour) == (1, 1, 0), "already 1 January there"
    assert (moments["leap-day"].month, moments["leap-day"].day) == (2, 29)
    for name in ("dst-spring", "dst-autumn"):
        moment = moments[name]
        before = moment.astimezone(BRUSSELS).utcoffset()
        after = (moment + timedelta(minutes=30)).astimezone(BRUSSELS).utcoffset()
        assert before != after, f"{name}: Brussels changes its clocks within half an hour of the moment"


def test_the_server_and_a_process_read_the_moment_of_the_offset_file():
    library, postgres_bin = clock_matrix.find_libfaketime(), clock_matrix.find_postgres_bin()
    assert library and postgres_bin, "make test installs libfaketime (Debian's faketime) and PostgreSQL"
    moment = datetime(2028, 2, 29, 23, 30, tzinfo=UTC)
    with clock_matrix.FakeClockServer(
        os.environ.get("PGUSER") or getpass.getuser(), library, postgres_bin
    ) as server:
        server.set_clock(moment)
        environment = {**os.environ, **server.client_environment()}
        database_now = subprocess.run(
            ["psql", "-d", "postgres", "-Atc", "SELECT now() AT TIME ZONE 'UTC'"],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        shell_date = subprocess.run(
            ["date", "-u", "+%Y-%m-%d %H"], env=environment, capture_output=True, text=True, check=True
        ).stdout
    assert abs(datetime.fromisoformat(database_now.strip()).replace(tzinfo=UTC) - moment) < timedelta(
        minutes=1
    )
    assert shell_date.strip() == "2028-02-29 23"


WAITS_AND_SLEEPS = """
import queue, threading, time
threading.Event().wait(0.2)
try:
    queue.Queue().get(timeout=0.2)
except queue.Empty:
    pass
time.sleep(0.2)
print(time.strftime("%Y-%m-%d", time.gmtime()))
"""


@contextmanager
def clock_environment_at(moment):
    """The environment of a process on a matrix's clock set to ``moment``
    (its offset file only: no PostgreSQL server is started)."""
    library, postgres_bin = clock_matrix.find_libfaketime(), clock_matrix.find_postgres_bin()
    assert library and postgres_bin, "make test installs libfaketime (Debian's faketime) and PostgreSQL"
    server = clock_matrix.FakeClockServer(
        os.environ.get("PGUSER") or getpass.getuser(), library, postgres_bin
    )
    try:
        server.set_offset((moment - clock_matrix.real_now()).total_seconds())
        yield {**os.environ, **server.clock_environment()}
    finally:
        server.stop()


def test_a_python_process_on_the_matrix_clock_waits_and_sleeps_for_the_time_asked():
    """A timed wait on a clock moved years ahead must not last until the
    machine's clock gets there: the job queue's runner thread waits so."""
    with clock_environment_at(datetime(2030, 12, 31, 23, 30, tzinfo=UTC)) as environment:
        finished = subprocess.run(
            [sys.executable, "-c", WAITS_AND_SLEEPS],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    assert finished.stdout.strip() in {"2030-12-31", "2031-01-01"}


def _unlimited_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def test_chromium_on_the_matrix_clock_loads_a_page():
    """Odoo's test browser, started on the matrix's clock, loads a page at
    once: with the monotonic clock left alone, Chromium spun for a minute
    first, past the tours' time-outs."""
    with clock_environment_at(datetime(2030, 12, 31, 23, 30, tzinfo=UTC)) as environment:
        browser = shutil.which("chromium", path=environment["PATH"])
        page = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--dump-dom",
                "data:text/html,<p>on time</p>",
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=40,
            check=False,
            # As Odoo's test browser starts it: Odoo limits the suite's
            # address space, Chromium reserves far more.
            preexec_fn=_unlimited_address_space,
        )
    assert "<p>on time</p>" in page.stdout, page.stderr[-2000:]
