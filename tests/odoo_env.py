"""Helpers for suite-level tests that drive Odoo as a separate process."""

import configparser
import os
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path

import devenv
import psycopg2

import odoo


def odoo_config_path():
    path = os.environ.get("COLLECTIONS_ODOO_CONF") or odoo.tools.config["config"]
    if not path or not os.path.isfile(path):
        raise RuntimeError("no Odoo configuration file: run the suite with 'make test'")
    return path


REPO = Path(__file__).resolve().parents[1]


def run_odoo(*args, stdin=None, timeout=900, config=None, python=None, cwd=None, env=None):
    """Run Odoo with the suite's configuration (or ``config``, with
    ``python``, and ``env`` added to the environment); fail loudly with its
    output."""
    command = [
        str(python or sys.executable),
        "-m",
        "odoo",
        *args[:1],
        "-c",
        str(config or odoo_config_path()),
        *map(str, args[1:]),
    ]
    result = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env={**os.environ, **env} if env else None,
    )
    if result.returncode:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def install_modules(database, *modules, **run_options):
    """Install ``modules`` in ``database`` (created without demo data when
    new), the way ``odoo -i`` does; ``run_options`` go to run_odoo."""
    return run_odoo(
        "server",
        "-d",
        database,
        "-i",
        ",".join(modules),
        "--without-demo",
        "--stop-after-init",
        "--no-http",
        **run_options,
    )


def drop_database(name):
    subprocess.run(["dropdb", "--if-exists", "--force", name], check=True, capture_output=True)


@contextmanager
def database_copy(source, target):
    """``target``, a copy of ``source`` and its filestore, dropped when the
    block ends, however it ends: a test that changes a database shared by
    others works on a copy, and leaves the shared one as it found it."""
    devenv.copy_database(source, target)
    try:
        yield target
    finally:
        devenv.drop_database(target)


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


def execute(database, sql, params=None):
    """Run ``sql`` on ``database`` and commit it."""
    with closing(connect(database)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        connection.commit()


def write_config(path, repo_addons=None):
    """The suite's Odoo configuration, written to ``path`` with this
    checkout's entry of the addons path replaced by ``repo_addons``, or
    left out when it is None."""
    config = configparser.ConfigParser()
    config.read(odoo_config_path())
    paths = [entry.strip() for entry in config["options"]["addons_path"].split(",")]
    config["options"]["addons_path"] = ",".join(
        entry if Path(entry).resolve() != REPO else str(repo_addons)
        for entry in paths
        if Path(entry).resolve() != REPO or repo_addons is not None
    )
    with Path(path).open("w") as file:
        config.write(file)
    return path


def module_states(database, modules):
    """{module: state} of ``modules`` in ``database``."""
    return dict(
        query(database, "SELECT name, state FROM ir_module_module WHERE name IN %s", (tuple(modules),))
    )


def uninstall_module(database, module):
    run_odoo(
        "shell",
        "-d",
        database,
        "--no-http",
        stdin=(
            f"env['ir.module.module'].search([('name', '=', '{module}')]).button_immediate_uninstall()\n"
            "env.cr.commit()\n"
        ),
    )
