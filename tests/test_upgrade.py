"""A database of the previous release upgrades to this one and keeps what
its users configured, in a database of its own: the previous release's code
comes from this repository's history."""

import configparser
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from odoo_env import drop_database, odoo_config_path, query, run_odoo

REPO = Path(__file__).resolve().parents[1]
CORE = "collections_automation"
SMS_BRIDGE = "collections_automation_sms"
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
    config = configparser.ConfigParser()
    config.read(odoo_config_path())
    paths = [path.strip() for path in config["options"]["addons_path"].split(",")]
    config["options"]["addons_path"] = ",".join(
        str(addons) if Path(path).resolve() == REPO else path for path in paths
    )
    path = folder / "previous.conf"
    with path.open("w") as file:
        config.write(file)
    return path


def _run_previous(config, *args, stdin=None):
    command = [sys.executable, "-m", "odoo", *args[:1], "-c", str(config), *args[1:]]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=900, check=False)
    assert not result.returncode, (
        f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def previous_release_database():
    drop_database(DATABASE)
    with tempfile.TemporaryDirectory() as folder:
        config = _previous_release_config(Path(folder))
        _run_previous(
            config, "server", "-d", DATABASE, "-i", CORE, "--without-demo", "--stop-after-init", "--no-http"
        )
        _run_previous(
            config,
            "shell",
            "-d",
            DATABASE,
            "--no-http",
            stdin=(
                "template = env.ref('collections_automation.sms_template_overdue')\n"
                "template.body = 'Edited by the customer: {{ object.name }}'\n"
                "env['collection.process'].create({'name': 'With SMS', 'stage_ids': [(0, 0, {\n"
                "    'name': 'Text', 'send_sms': True, 'sms_template_id': template.id})]})\n"
                "env.cr.commit()\n"
            ),
        )
    yield DATABASE
    drop_database(DATABASE)


def test_sms_stages_and_templates_survive_the_move_to_the_bridge(previous_release_database):
    before = query(
        previous_release_database,
        "SELECT s.send_sms, s.sms_template_id FROM collection_stage s WHERE s.name->>'en_US' = 'Text'",
    )
    run_odoo("server", "-d", previous_release_database, "-u", CORE, "--stop-after-init", "--no-http")
    states = dict(
        query(
            previous_release_database,
            "SELECT name, state FROM ir_module_module WHERE name IN %s",
            ((CORE, SMS_BRIDGE),),
        )
    )
    assert states == {CORE: "installed", SMS_BRIDGE: "installed"}, "the upgrade installs the bridge"
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
