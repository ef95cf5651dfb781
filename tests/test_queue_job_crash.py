"""With queue_job, a worker killed (kill -9) in the middle of a collections
job: the job's transaction dies with it, queue_job's runner requeues the
job, and every reminder is queued exactly once. Real Odoo servers with
prefork workers, in a database of their own."""

import os
import signal
import time
from pathlib import Path

import pytest
from odoo_env import database_copy, drop_database, odoo_config_path, run_odoo
from queue_servers import (
    BRIDGE,
    odoo_servers,
    process_of_client_port,
    query,
    reminders_per_enrollment,
    trigger_engine,
    wait_for_batch_jobs,
)

DATABASE = "collections_queue_crash"
INVOICES = 600
BATCH_SIZE = 100
BENCH_DIR = Path(__file__).parent / "bench"
# engine_bench's process: its email stage is due today on every invoice.
PROCESS_NAME = "Benchmark process"
SETUP = f"""
import sys
sys.path.insert(0, {str(BENCH_DIR)!r})
from engine_bench import grow
grow(env, {INVOICES}, {INVOICES // 5})
env["ir.config_parameter"].set_param("collections_automation.batch_size", "{BATCH_SIZE}")
env.cr.commit()
"""
# A worker is in the middle of a job once it holds due collections
# (FOR UPDATE) and has written an effect (an event) it has not committed.
WORKER_IN_A_JOB = """
    SELECT a.client_port
      FROM pg_stat_activity a
      JOIN pg_locks taken ON taken.pid = a.pid AND taken.relation = 'collection_enrollment'::regclass
           AND taken.mode = 'RowShareLock'
      JOIN pg_locks written ON written.pid = a.pid AND written.relation = 'collection_event'::regclass
           AND written.mode = 'RowExclusiveLock'
     WHERE a.datname = current_database() AND a.client_port > 0
"""


@pytest.fixture(scope="module")
def database():
    drop_database(DATABASE)
    # The add-on and queue_job: the bridge installs itself.
    run_odoo(
        "server", "-d", DATABASE, "-i", "collections_automation,queue_job", "--stop-after-init", "--no-http",
        "--log-level=warn",
    )  # fmt: skip
    run_odoo("shell", "-d", DATABASE, "--no-http", "--log-level=warn", stdin=SETUP)
    yield DATABASE
    drop_database(DATABASE)


def _module_states(database):
    return dict(
        query(
            database,
            "SELECT name, state FROM ir_module_module WHERE name IN %s",
            (("collections_automation", "queue_job", BRIDGE),),
        )
    )


def test_the_bridge_installs_itself_with_queue_job(database):
    assert _module_states(database) == dict.fromkeys(
        ("collections_automation", "queue_job", BRIDGE), "installed"
    )


def _kill_a_worker_in_a_job(database, main_processes, timeout=180):
    """Kill (-9) a worker while its job's transaction is open. A worker
    seen in a job may commit before the kill lands: it is stopped first,
    and killed only if its transaction is still open then; else it goes on
    and the next one is tried."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for (client_port,) in query(database, WORKER_IN_A_JOB):
            pid = process_of_client_port(client_port)
            if not pid or pid in main_processes:
                continue
            os.kill(pid, signal.SIGSTOP)
            if (client_port,) in query(database, WORKER_IN_A_JOB):
                os.kill(pid, signal.SIGKILL)
                return pid
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError(f"no worker took a collections job within {timeout} s")


def test_a_worker_killed_mid_job_is_requeued_and_repeats_nothing(database, tmp_path):
    with odoo_servers(
        odoo_config_path(), database, processes=1, workers=2, capacity=2, log_dir=tmp_path
    ) as servers:
        port, main_processes = servers
        trigger_engine(port, database)
        _kill_a_worker_in_a_job(database, main_processes)
        wait_for_batch_jobs(database)
    jobs = query(
        database, "SELECT state, retry FROM queue_job WHERE method_name = '_job_run_due_batch' ORDER BY id"
    )
    assert len(jobs) == INVOICES // BATCH_SIZE
    assert {state for state, _retry in jobs} == {"done"}
    assert max(retry for _state, retry in jobs) >= 2, f"no job was requeued after the kill: {jobs}"
    reminders = reminders_per_enrollment(database, PROCESS_NAME)
    assert len(reminders) == INVOICES
    assert set(reminders.values()) == {1}, "every collection got its reminder, once"
    [(events, enrollments)] = query(
        database,
        "SELECT count(*), count(DISTINCT enrollment_id) FROM collection_event WHERE action = 'email'",
    )
    assert events == enrollments == INVOICES
    [(queued_mails,)] = query(database, "SELECT count(*) FROM mail_mail")
    assert queued_mails == INVOICES


CONSOLIDATE_AND_REARM = """
from odoo import fields
process = env["collection.process"].search([("name", "=", "Benchmark process")])
process.consolidate = True
stage = process.stage_ids.sorted("sequence")[:1]
enrollments = env["collection.enrollment"].search([("process_id", "=", process.id)])
enrollments.write({
    "stage_id": False, "next_stage_id": stage.id, "next_action_date": fields.Date.context_today(process),
    "stage_cycle": 3,
})
env.cr.commit()
"""


def test_parallel_jobs_send_each_customer_one_consolidated_email(database, tmp_path):
    run_odoo("shell", "-d", database, "--no-http", "--log-level=warn", stdin=CONSOLIDATE_AND_REARM)
    with odoo_servers(
        odoo_config_path(), database, processes=1, workers=2, capacity=2, log_dir=tmp_path
    ) as servers:
        trigger_engine(servers[0], database)
        wait_for_batch_jobs(database)
    emails = query(
        database,
        """
        SELECT e.partner_id, count(DISTINCT ev.mail_message_id), count(*)
          FROM collection_event ev
          JOIN collection_enrollment e ON e.id = ev.enrollment_id
         WHERE ev.action = 'email' AND ev.key LIKE '%%:3:email'
         GROUP BY e.partner_id
        """,
    )
    assert len(emails) == INVOICES // 5, "every customer reminded"
    assert {(messages, invoices) for _partner, messages, invoices in emails} == {(1, 5)}, (
        "one email per customer, covering its five invoices"
    )


UNINSTALL_AND_RUN = (
    f"""
env["ir.module.module"].search([("name", "=", "{BRIDGE}")]).button_immediate_uninstall()
env.cr.commit()
""",
    """
from odoo import fields
process = env["collection.process"].search([("name", "=", "Benchmark process")])
stage = process.stage_ids.sorted("sequence")[:1]
enrollments = env["collection.enrollment"].search([("process_id", "=", process.id)], limit=50)
# Due again under a new cycle, as engine_bench re-arms them.
today = fields.Date.context_today(process)
enrollments.write({"stage_id": False, "next_stage_id": stage.id, "next_action_date": today, "stage_cycle": 2})
cron = env.ref("collections_automation.ir_cron_collection_engine")
env["collection.engine"].with_context(cron_id=cron.id)._cron_run()
env.cr.commit()
""",
)


@pytest.fixture
def database_copy_without_bridge(database):
    """The uninstall works on a copy: the database of the other tests keeps
    its bridge, whatever happens here."""
    with database_copy(database, f"{DATABASE}_copy") as copy:
        yield copy


def test_without_the_bridge_the_scheduled_action_runs_the_work_itself(database_copy_without_bridge):
    database = database_copy_without_bridge
    uninstall, run = UNINSTALL_AND_RUN
    run_odoo("shell", "-d", database, "--no-http", "--log-level=warn", stdin=uninstall)
    states = _module_states(database)
    assert states["collections_automation"] == states["queue_job"] == "installed"
    assert states[BRIDGE] == "uninstalled"
    [(jobs_before,)] = query(database, "SELECT count(*) FROM queue_job")
    run_odoo("shell", "-d", database, "--no-http", "--log-level=warn", stdin=run)
    [(jobs_after,)] = query(database, "SELECT count(*) FROM queue_job")
    assert jobs_after == jobs_before, "no job queued"
    [(second_cycle_emails,)] = query(
        database, "SELECT count(*) FROM collection_event WHERE action = 'email' AND key LIKE '%%:2:email'"
    )
    assert second_cycle_emails == 50
