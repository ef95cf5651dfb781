"""Python's sleep for processes on the clock matrix's clock.

The matrix leaves the monotonic clock alone (FAKETIME_DONT_FAKE_MONOTONIC):
moved by the offset, it made every timed lock wait (``Event.wait(0.5)``,
``Queue.get(timeout=...)``) last until the machine's clock reached the
moment, since Debian's libfaketime 0.9.10 does not intercept
``sem_clockwait``. Left alone, it makes ``time.sleep()`` fail with EINVAL:
libfaketime shifts the absolute monotonic deadline that Python hands to
``clock_nanosleep``. ``select``'s relative timeout goes through untouched.

The matrix puts this folder on PYTHONPATH; nothing else imports it.
"""

import select
import time


def sleep(seconds):
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = sleep
