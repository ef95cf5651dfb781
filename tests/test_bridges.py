"""The core installs alone, and each bridge module installs itself when its
dependency comes, and uninstalls alone. Each test works on its own copy of a
database with the core alone, so one that fails halfway (a bridge left
uninstalled) never fails the next."""

import os
import tempfile
from pathlib import Path

import pytest
from odoo_env import (
    database_copy,
    drop_database,
    install_modules,
    module_states,
    query,
    run_odoo,
    uninstall_module,
)

CORE = "collections_automation"
SMS_BRIDGE = "collections_automation_sms"
STRIPE_BRIDGE = "collections_automation_stripe"
DASHBOARD_BRIDGE = "collections_automation_spreadsheet"
SCORE = "collections_automation_score"
TEMPLATE_DATABASE = "collections_bridge_template"
DATABASE = "collections_bridge_check"


@pytest.fixture(scope="module")
def without_stripe_package():
    """An environment in which ``import stripe`` fails, as on a machine
    without the package."""
    with tempfile.TemporaryDirectory() as folder:
        package = Path(folder) / "stripe"
        package.mkdir()
        (package / "__init__.py").write_text("raise ImportError('no stripe package on this machine')\n")
        yield {"PYTHONPATH": os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="module")
def core_template(without_stripe_package):
    drop_database(TEMPLATE_DATABASE)
    install_modules(TEMPLATE_DATABASE, CORE, env=without_stripe_package)
    yield TEMPLATE_DATABASE
    drop_database(TEMPLATE_DATABASE)


@pytest.fixture
def core_database(core_template):
    with database_copy(core_template, DATABASE):
        yield DATABASE


def _stage_columns(database):
    rows = query(
        database,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'collection_stage'",
    )
    return {name for (name,) in rows}


def _run_engine_in_shell(database, env=None):
    """An engine run that sends a stage's messages, and what it left. The
    company's contact policy is off: on a quiet day (a Saturday) the engine
    rightly defers every message, and what this checks is that it sends."""
    script = (
        "env.company.write({'collection_quiet_days': False,\n"
        "    'collection_contact_max_per_day': 0, 'collection_contact_max_per_week': 0})\n"
        "partner = env['res.partner'].create({'name': 'Bridge check', 'email': 'ap@example.com'})\n"
        "process = env['collection.process'].create({'name': 'Bridge check', 'stage_ids': [(0, 0, {\n"
        "    'name': 'Reminder', 'delay_days': 0, 'send_email': True,\n"
        "    'mail_template_id': env.ref('collections_automation.mail_template_overdue').id})]})\n"
        "enrollment = env['collection.enrollment'].create({'partner_id': partner.id,\n"
        "    'process_id': process.id, 'currency_id': env.company.currency_id.id,\n"
        "    'amount_due_at_enrollment': 100.0})\n"
        "env['collection.engine']._cron_run()\n"
        "print('EVENTS', sorted(enrollment.event_ids.mapped('action')))\n"
        "env.cr.rollback()\n"
    )
    return run_odoo("shell", "-d", database, "--no-http", stdin=script, env=env).stdout


def test_the_core_needs_neither_payment_stripe_nor_the_stripe_package(core_database, without_stripe_package):
    assert module_states(core_database, (CORE, STRIPE_BRIDGE, "payment_stripe")) == {
        CORE: "installed",
        STRIPE_BRIDGE: "uninstalled",
        "payment_stripe": "uninstalled",
    }
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database, env=without_stripe_package)


def test_the_stripe_bridge_comes_and_goes_with_payment_stripe(core_database):
    def webhook_table():
        return query(core_database, "SELECT to_regclass('collection_webhook_event')")[0][0]

    install_modules(core_database, "payment_stripe")
    assert module_states(core_database, (STRIPE_BRIDGE,)) == {STRIPE_BRIDGE: "installed"}
    assert webhook_table() == "collection_webhook_event"

    uninstall_module(core_database, STRIPE_BRIDGE)
    assert module_states(core_database, (CORE, STRIPE_BRIDGE, "payment_stripe")) == {
        CORE: "installed",
        STRIPE_BRIDGE: "uninstalled",
        "payment_stripe": "installed",
    }
    assert webhook_table() is None
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database)

    uninstall_module(core_database, "payment_stripe")
    install_modules(core_database, "payment_stripe")
    assert module_states(core_database, (STRIPE_BRIDGE,)) == {STRIPE_BRIDGE: "installed"}, (
        "the bridge installs itself"
    )
    assert webhook_table() == "collection_webhook_event"


def test_the_sms_bridge_comes_and_goes_with_sms(core_database):
    # Odoo 19 installs sms with mail (auto_install): the bridge follows.
    assert module_states(core_database, (CORE, SMS_BRIDGE, "sms")) == {
        CORE: "installed",
        SMS_BRIDGE: "installed",
        "sms": "installed",
    }
    assert {"send_sms", "sms_template_id"} <= _stage_columns(core_database)

    uninstall_module(core_database, SMS_BRIDGE)
    assert module_states(core_database, (CORE, SMS_BRIDGE, "sms")) == {
        CORE: "installed",
        SMS_BRIDGE: "uninstalled",
        "sms": "installed",
    }
    assert not {"send_sms", "sms_template_id"} & _stage_columns(core_database)
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database)

    # The core does not need sms: without it, it stays and works.
    uninstall_module(core_database, "sms")
    assert module_states(core_database, (CORE, SMS_BRIDGE, "sms")) == {
        CORE: "installed",
        SMS_BRIDGE: "uninstalled",
        "sms": "uninstalled",
    }
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database)

    install_modules(core_database, "sms")
    assert module_states(core_database, (SMS_BRIDGE,))[SMS_BRIDGE] == "installed", (
        "the bridge installs itself"
    )
    assert {"send_sms", "sms_template_id"} <= _stage_columns(core_database)
    templates = query(
        core_database,
        "SELECT count(*) FROM ir_model_data WHERE module = %s AND model = 'sms.template'",
        (SMS_BRIDGE,),
    )
    assert templates == [(8,)]


def test_the_dashboard_bridge_comes_and_goes_with_the_dashboards_app(core_database):
    def collections_dashboards():
        return query(
            core_database,
            "SELECT count(*) FROM ir_model_data WHERE module = %s AND model = 'spreadsheet.dashboard'",
            (DASHBOARD_BRIDGE,),
        )[0][0]

    # Odoo 19 installs its Dashboards app with accounting (its Invoicing
    # dashboard): the bridge follows.
    assert module_states(core_database, (DASHBOARD_BRIDGE, "spreadsheet_dashboard")) == {
        DASHBOARD_BRIDGE: "installed",
        "spreadsheet_dashboard": "installed",
    }
    assert collections_dashboards() == 1

    uninstall_module(core_database, DASHBOARD_BRIDGE)
    assert module_states(core_database, (CORE, DASHBOARD_BRIDGE, "spreadsheet_dashboard")) == {
        CORE: "installed",
        DASHBOARD_BRIDGE: "uninstalled",
        "spreadsheet_dashboard": "installed",
    }
    assert collections_dashboards() == 0

    # The core does not need the Dashboards app: without it, it stays and works.
    uninstall_module(core_database, "spreadsheet_dashboard")
    assert module_states(core_database, (CORE, "spreadsheet_dashboard")) == {
        CORE: "installed",
        "spreadsheet_dashboard": "uninstalled",
    }
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database)

    install_modules(core_database, "spreadsheet_dashboard")
    assert module_states(core_database, (DASHBOARD_BRIDGE,)) == {DASHBOARD_BRIDGE: "installed"}, (
        "the bridge installs itself"
    )
    assert collections_dashboards() == 1


def test_the_score_installs_on_the_core_and_uninstalls_alone(core_database):
    install_modules(core_database, SCORE)
    assert module_states(core_database, (CORE, SCORE)) == {CORE: "installed", SCORE: "installed"}
    for table in ("collection_invoice_score", "collection_customer_score"):
        assert query(core_database, f"SELECT to_regclass('{table}')")[0][0] is not None

    uninstall_module(core_database, SCORE)
    assert module_states(core_database, (CORE, SCORE)) == {CORE: "installed", SCORE: "uninstalled"}
    for table in ("collection_score_model", "collection_invoice_score", "collection_customer_score"):
        assert query(core_database, f"SELECT to_regclass('{table}')")[0][0] is None
    assert "EVENTS ['email', 'enrolled']" in _run_engine_in_shell(core_database)


def test_uninstalling_the_core_takes_its_bridges_along(core_database):
    install_modules(core_database, "payment_stripe")
    assert module_states(core_database, (SMS_BRIDGE, STRIPE_BRIDGE)) == {
        SMS_BRIDGE: "installed",
        STRIPE_BRIDGE: "installed",
    }
    uninstall_module(core_database, CORE)
    assert module_states(core_database, (CORE, SMS_BRIDGE, STRIPE_BRIDGE, "payment_stripe")) == {
        CORE: "uninstalled",
        SMS_BRIDGE: "uninstalled",
        STRIPE_BRIDGE: "uninstalled",
        "payment_stripe": "installed",
    }
    for table in ("collection_stage", "collection_webhook_event"):
        assert query(core_database, "SELECT to_regclass(%s)", (table,)) == [(None,)]
