"""A database of the previous release upgrades to this one and keeps what
its users configured, in a database of its own: the previous release's code
comes from this repository's history."""

import subprocess
import tempfile
from pathlib import Path

import pytest
from odoo_env import REPO, drop_database, install_modules, module_states, query, run_odoo, write_config

CORE = "collections_automation"
SMS_BRIDGE = "collections_automation_sms"
STRIPE_BRIDGE = "collections_automation_stripe"
# The last commit of 19.0.1.2.0, when the core still sent the SMS itself.
PREVIOUS_RELEASE = "19fc22aa0f15eaa5c5dd1fcdd0c6c6437a42701f"
DATABASE = "collections_upgrade_check"


def _previous_release_config(folder):
    """An Odoo configuration whose addons path holds the previous release
    instead of this checkout."""
    addons = folder / "addons"
    addons.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, CORE],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"the upgrade test needs the repository's history ({PREVIOUS_RELEASE}): {archive.stderr.decode()}"
    )
    subprocess.run(["tar", "-x", "-C", str(addons)], input=archive.stdout, check=True)
    return write_config(folder / "previous.conf", repo_addons=addons)


@pytest.fixture(scope="module")
def previous_release_database():
    drop_database(DATABASE)
    with tempfile.TemporaryDirectory() as folder:
        config = _previous_release_config(Path(folder))
        install_modules(DATABASE, CORE, config=config)
        run_odoo(
            "shell",
            "-d",
            DATABASE,
            "--no-http",
            stdin=(
                "template = env.ref('collections_automation.sms_template_overdue')\n"
                "template.body = 'Edited by the customer: {{ object.name }}'\n"
                "env['collection.process'].create({'name': 'With SMS', 'stage_ids': [(0, 0, {\n"
                "    'name': 'Text', 'send_sms': True, 'sms_template_id': template.id})]})\n"
                "Rule = env['collection.late.charge.rule']\n"
                "Rule.create({'name': 'UK', 'preset': 'uk'})\n"
                "Rule.create({'name': 'NL', 'preset': 'nl'})\n"
                "Rule.create({'name': 'Everyone', 'preset': 'contractual'})\n"
                # A rule of 19.0.1.4.0's German consumer preset, which the
                # release this test upgrades from does not have.
                "Rule.create({'name': 'DE consumers', 'preset': 'contractual'})\n"
                "env.cr.execute(\"UPDATE collection_late_charge_rule SET preset = 'de_consumer'\"\n"
                "    \" WHERE name->>'en_US' = 'DE consumers'\")\n"
                "customer = env['res.partner'].create({'name': 'Notice Customer',\n"
                "    'email': 'n@example.com'})\n"
                "invoice = env['account.move'].create({'move_type': 'out_invoice',\n"
                "    'partner_id': customer.id, 'invoice_date': '2026-01-01',\n"
                "    'invoice_date_due': '2026-01-31', 'ref': 'NOTICE-UPGRADE',\n"
                "    'invoice_line_ids': [(0, 0, {'name': 'Services', 'price_unit': 100})]})\n"
                "invoice.action_post()\n"
                "overdue_email = env.ref('collections_automation.mail_template_overdue')\n"
                "enrollment = invoice.collection_enroll(process_id=env['collection.process'].create(\n"
                "    {'name': 'Notice', 'stage_ids': [(0, 0, {'name': 'Remind', 'send_email': True,\n"
                "    'mail_template_id': overdue_email.id})]}).id)\n"
                "for moment in ('2026-01-30 10:00:00', '2026-02-03 10:00:00', '2026-02-10 10:00:00'):\n"
                "    env['collection.event'].create({'enrollment_id': enrollment.id, 'action': 'email',\n"
                "        'date': moment})\n"
                "env['collection.webhook.event'].create({'event_id': 'evt_before_upgrade',\n"
                "    'provider_id': env.ref('payment.payment_provider_stripe').id,\n"
                "    'event_type': 'payment_intent.succeeded'})\n"
                "env.cr.commit()\n"
            ),
            config=config,
        )
    before = query(
        DATABASE,
        "SELECT s.send_sms, s.sms_template_id FROM collection_stage s WHERE s.name->>'en_US' = 'Text'",
    )
    yield DATABASE, before
    drop_database(DATABASE)


@pytest.fixture(scope="module")
def upgraded_database(previous_release_database):
    database, before = previous_release_database
    run_odoo("server", "-d", database, "-u", CORE, "--stop-after-init", "--no-http")
    return database, before


def test_the_upgrade_installs_the_bridges(upgraded_database):
    database, _before = upgraded_database
    assert module_states(database, (CORE, SMS_BRIDGE, STRIPE_BRIDGE)) == {
        CORE: "installed",
        SMS_BRIDGE: "installed",
        STRIPE_BRIDGE: "installed",
    }


def test_sms_stages_and_templates_survive_the_move_to_the_bridge(upgraded_database):
    previous_release_database, before = upgraded_database
    after = query(
        previous_release_database,
        "SELECT s.send_sms, s.sms_template_id FROM collection_stage s WHERE s.name->>'en_US' = 'Text'",
    )
    assert after == before and after[0][0] is True
    template_id = after[0][1]
    owners = query(
        previous_release_database,
        "SELECT module, name FROM ir_model_data WHERE model = 'sms.template' AND res_id = %s",
        (template_id,),
    )
    assert owners == [(SMS_BRIDGE, "sms_template_overdue")]
    body = query(
        previous_release_database, "SELECT body->>'en_US' FROM sms_template WHERE id = %s", (template_id,)
    )
    assert body == [("Edited by the customer: {{ object.name }}",)], "the customer's edit is kept"
    fields = query(
        previous_release_database,
        "SELECT module FROM ir_model_data WHERE model = 'ir.model.fields' AND name = %s",
        ("field_collection_stage__send_sms",),
    )
    assert fields == [(SMS_BRIDGE,)]


def test_the_stripe_events_received_survive_the_move_to_the_bridge(upgraded_database):
    database, _before = upgraded_database
    assert query(database, "SELECT event_id FROM collection_webhook_event") == [("evt_before_upgrade",)]
    owners = query(
        database,
        "SELECT DISTINCT module FROM ir_model_data WHERE name = 'model_collection_webhook_event'"
        " OR name LIKE 'field_collection_webhook_event%%' OR name LIKE 'access_collection_webhook_event%%'",
    )
    assert owners == [(STRIPE_BRIDGE,)]
    constraint_owners = query(
        database,
        "SELECT DISTINCT module.name FROM ir_model_constraint constraint_row"
        " JOIN ir_module_module module ON module.id = constraint_row.module"
        " JOIN ir_model model ON model.id = constraint_row.model"
        " WHERE model.model = 'collection.webhook.event'",
    )
    assert constraint_owners == [(STRIPE_BRIDGE,)], "uninstalling the bridge drops its own key"


def test_late_charge_rules_follow_their_laws_after_the_upgrade(upgraded_database):
    database, _before = upgraded_database
    rules = query(
        database,
        "SELECT name->>'en_US', customer_scope, rate_rule, rate_fixed, compounding"
        " FROM collection_late_charge_rule"
        " ORDER BY id",
    )
    assert rules == [
        ("UK", "business", "half_year_before", True, "none"),
        ("NL", "business", "half_year_start", False, "yearly"),
        ("Everyone", "all", "half_year_start", False, "none"),
        ("DE consumers", "all", "half_year_start", False, "none"),
    ]
    starts = query(database, "SELECT preset, interest_start FROM collection_late_charge_rule ORDER BY id")
    assert starts == [("uk", "due"), ("nl", "due"), ("contractual", "due"), ("de_consumer", "notice")]


def test_invoices_in_collections_get_their_formal_notice_from_their_history(upgraded_database):
    """The first email after the due date (31 January) is the notice: not
    the one of 30 January, nor the later one."""
    database, _before = upgraded_database
    notices = query(
        database, "SELECT collection_notice_date::text FROM account_move WHERE ref = 'NOTICE-UPGRADE'"
    )
    assert notices == [("2026-02-03",)]
