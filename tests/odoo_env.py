"""Helpers for suite-level tests that drive Odoo as a separate process."""

import os
import subprocess
import sys
from contextlib import closing

import psycopg2

import odoo


def odoo_config_path():
    path = os.environ.get("COLLECTIONS_ODOO_CONF") or odoo.tools.config["config"]
    if not path or not os.path.isfile(path):
        raise RuntimeError("no Odoo configuration file: run the suite with 'make test'")
    return path


def run_odoo(*args, stdin=None, timeout=900):
    """Run Odoo with the suite's configuration; fail loudly with its output."""
    command = [sys.executable, "-m", "odoo", *args[:1], "-c", odoo_config_path(), *args[1:]]
    result = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def drop_database(name):
    subprocess.run(["dropdb", "--if-exists", "--force", name], check=True, capture_output=True)


def connect(database):
    config = odoo.tools.config
    return psycopg2.connect(
        dbname=database,
        user=config["db_user"] or None,
        host=config["db_host"] or None,
        port=config["db_port"] or None,
        password=config["db_password"] or None,
    )


def query(database, sql, params=None):
    with closing(connect(database)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
