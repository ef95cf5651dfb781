"""Odoo servers that run the collections engine through OCA's queue_job, as a
deployment does: several server processes with prefork workers on one
database, the job runner on, behind a round-robin load balancer. Used by
the crash test (tests/test_queue_job_crash.py) and ``make bench-scale``."""

import os
import socket
import subprocess
import threading
import time
import xmlrpc.client
from contextlib import closing, contextmanager, suppress

import psutil
from clock_matrix import free_port
from devenv import odoo_prefork_command, wait_until_serving
from odoo_env import connect, query

BRIDGE = "collections_automation_queue_job"
ENGINE_CRON = "collections_automation.ir_cron_collection_engine"
OPEN_BATCH_JOBS = """
    SELECT count(*) FROM queue_job
     WHERE method_name = '_job_run_due_batch'
       AND state IN ('wait_dependencies', 'pending', 'enqueued', 'started')
"""


class LoadBalancer:
    """Round-robin TCP proxy on 127.0.0.1: each connection goes to the next
    server, as a load balancer in front of several Odoo servers does."""

    def __init__(self, ports):
        self.ports = ports
        self.port = free_port()
        self._next = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            port = self.ports[self._next % len(self.ports)]
            self._next += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", port))
            except OSError:
                client.close()
                continue
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source, target):
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self):
        self._listener.close()


@contextmanager
def odoo_servers(config, database, processes, workers, capacity, log_dir):
    """``processes`` Odoo servers of ``workers`` HTTP workers each on
    ``database``, queue_job's runner on, at most ``capacity`` collections
    jobs at once; yields the port that serves them all and the main
    processes' ids."""
    ports = [free_port() for _process in range(processes)]
    balancer = LoadBalancer(ports) if processes > 1 else None
    entry = balancer.port if balancer else ports[0]
    environment = dict(
        os.environ,
        ODOO_QUEUE_JOB_CHANNELS=f"root:{capacity},root.collections:{capacity}",
        ODOO_QUEUE_JOB_HOST="127.0.0.1",
        ODOO_QUEUE_JOB_PORT=str(entry),
    )
    servers = []
    try:
        for index, port in enumerate(ports):
            log = open(os.path.join(log_dir, f"odoo-{database}-{index}.log"), "w")  # noqa: SIM115
            command = odoo_prefork_command(
                "-d", database, "--db_host=127.0.0.1", f"--db-filter=^{database}$",
                f"--workers={workers}", "--max-cron-threads=0", f"--http-port={port}",
                "--load=base,web,queue_job", "--log-level=info", conf=config,
            )  # fmt: skip
            servers.append(
                (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment), log)
            )
        for port in ports:
            wait_until_serving(port)
        yield entry, [server.pid for server, _log in servers]
    finally:
        for server, _log in servers:
            server.terminate()
        for server, log in servers:
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
        if balancer:
            balancer.close()


def process_of_client_port(port):
    """The process on this machine whose TCP connection has local ``port``:
    the servers talk to PostgreSQL over TCP, so that a backend's
    ``client_port`` names the Odoo worker behind it (the application name
    names the server's main process, where the connection settings were
    made before the workers forked)."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.pid:
            return connection.pid
    return None


def trigger_engine(port, database, login="admin", password="admin"):
    """Run the engine's scheduled action now, as "Run Manually" does: it
    enrolls, then queues the due work in jobs."""
    common = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/common")
    uid = common.authenticate(database, login, password, {})
    models = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/xmlrpc/2/object", allow_none=True)
    module, name = ENGINE_CRON.split(".")
    [cron] = models.execute_kw(
        database, uid, password, "ir.model.data", "search_read",
        [[("module", "=", module), ("name", "=", name)]], {"fields": ["res_id"]},
    )  # fmt: skip
    models.execute_kw(database, uid, password, "ir.cron", "method_direct_trigger", [[cron["res_id"]]])


def wait_for_batch_jobs(database, timeout=900, poke_every=2.0):
    """Wait until no batch job is left open. The runner requeues a dead job
    on its next loop, which waits up to a minute for a notification: poke
    it, as the end of any other job would."""
    deadline = time.monotonic() + timeout
    last_poke = time.monotonic()
    while time.monotonic() < deadline:
        if query(database, OPEN_BATCH_JOBS)[0][0] == 0:
            return
        if time.monotonic() - last_poke > poke_every:
            with closing(connect(database)) as connection:
                connection.autocommit = True
                connection.cursor().execute("NOTIFY queue_job, 'collections-wake-up'")
            last_poke = time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"batch jobs still open after {timeout} s: {query(database, OPEN_BATCH_JOBS)}")


def reminders_per_enrollment(database, process_name):
    """{enrollment id: number of reminder emails queued for it} for every
    collection of the process."""
    rows = query(
        database,
        """
        SELECT e.id, count(m.id)
          FROM collection_enrollment e
          JOIN collection_process p ON p.id = e.process_id
          JOIN ir_model_data d ON d.module = 'collections_automation'
               AND d.name = 'mail_message_subtype_collection_reminder'
          LEFT JOIN mail_message m ON m.model = 'collection.enrollment' AND m.res_id = e.id
               AND m.subtype_id = d.res_id
         WHERE p.name->>'en_US' = %s
         GROUP BY e.id
        """,
        (process_name,),
    )
    return dict(rows)
