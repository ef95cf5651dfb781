"""Benchmark of the engine through OCA's queue_job (``make bench-scale``).

On a database of N collections whose email stage is due today (engine_bench's
dataset, with the collections_automation_queue_job bridge), each layout gets
its own copy and is timed from the scheduled action's trigger to the end of
the last batch job: one server process with one worker, one process with two
workers, two processes with two workers each behind a round-robin load
balancer. Every collection must get exactly one reminder; the script prints
the figures as JSON, one line per layout and run (``--runs``: the layouts
take turns, so that each meets the machine's drifting noise alike).
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))

from queue_servers import (
    odoo_servers,
    query,
    reminders_per_enrollment,
    trigger_engine,
    wait_for_batch_jobs,
)

from odoo.tools import config as odoo_config

PROCESS_NAME = "Benchmark process"
# (label, server processes, workers per process)
LAYOUTS = (
    ("1 process, 1 worker", 1, 1),
    ("1 process, 2 workers", 1, 2),
    ("2 processes, 2 workers each", 2, 2),
)


def copy_database(source, target):
    subprocess.run(["dropdb", "--if-exists", "--force", target], check=True, capture_output=True)
    subprocess.run(["createdb", "-T", source, target], check=True, capture_output=True)
    filestore = Path(odoo_config.filestore(source))
    if filestore.is_dir():
        shutil.rmtree(odoo_config.filestore(target), ignore_errors=True)
        shutil.copytree(filestore, odoo_config.filestore(target))


def drop_database(name):
    subprocess.run(["dropdb", "--if-exists", "--force", name], check=True, capture_output=True)
    shutil.rmtree(odoo_config.filestore(name), ignore_errors=True)


def time_layout(config, database, processes, workers, log_dir):
    capacity = processes * workers
    with odoo_servers(config, database, processes, workers, capacity, log_dir) as (port, _main_processes):
        started = time.perf_counter()
        trigger_engine(port, database)
        wait_for_batch_jobs(database, timeout=3600)
        seconds = time.perf_counter() - started
    reminders = reminders_per_enrollment(database, PROCESS_NAME)
    [(jobs, job_seconds, retried)] = query(
        database,
        "SELECT count(*), sum(exec_time), count(*) FILTER (WHERE retry > 1) FROM queue_job "
        "WHERE method_name = '_job_run_due_batch' AND state = 'done'",
    )
    return {
        "collections": len(reminders),
        "seconds": round(seconds, 1),
        "collections_per_second": round(len(reminders) / seconds, 1),
        "jobs": jobs,
        "job_seconds": round(job_seconds or 0, 1),
        "jobs_retried": retried,
        "reminded_once": sum(1 for count in reminders.values() if count == 1),
        "not_reminded": sum(1 for count in reminders.values() if count == 0),
        "duplicates": sum(count - 1 for count in reminders.values() if count > 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--runs", type=int, default=1, help="times each layout is timed, the layouts taking turns"
    )
    args = parser.parse_args()
    odoo_config.parse_config(["-c", args.config])
    with tempfile.TemporaryDirectory(prefix="collections-scale-") as log_dir:
        for label, processes, workers in LAYOUTS * args.runs:
            copy = f"{args.database}_run"
            copy_database(args.database, copy)
            try:
                figures = time_layout(args.config, copy, processes, workers, log_dir)
            finally:
                drop_database(copy)
            print(
                json.dumps({"layout": label, "processes": processes, "workers": workers, **figures}),
                flush=True,
            )


if __name__ == "__main__":
    main()
