"""19.0.1.3.0: SMS moves to the bridge module ``collections_automation_sms``.

The core no longer depends on ``sms``. A database that had the add-on keeps
its SMS stages and its (possibly edited) SMS templates: their fields and
records change owner to the bridge, which is installed in the same upgrade.
Without the bridge in the addons path, they stay as they are (no column is
dropped) until it is added.
"""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

CORE = "collections_automation"
BRIDGE = "collections_automation_sms"
MOVED_FIELDS = ("field_collection_stage__send_sms", "field_collection_stage__sms_template_id")
# Installing the bridge loads its templates in Odoo's install mode, which
# rewrites even noupdate records: what the users made of them is kept here,
# and the bridge's post_init_hook puts it back.
TEMPLATE_STASH = "collections_automation_sms_template_stash"
# The shipped SMS templates' xml ids (underscores taken literally).
TEMPLATE_NAMES = "sms\\_template\\_%"


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
            CREATE TABLE IF NOT EXISTS %(stash)s AS
            SELECT template.id, template.name, template.body
              FROM sms_template template
              JOIN ir_model_data data ON data.model = 'sms.template' AND data.res_id = template.id
             WHERE data.module = %(core)s AND data.name LIKE %(templates)s
            """,
            stash=SQL.identifier(TEMPLATE_STASH),
            core=CORE,
            templates=TEMPLATE_NAMES,
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE ir_model_data
               SET module = %(bridge)s
             WHERE module = %(core)s
               AND (name IN %(fields)s OR (model = 'sms.template' AND name LIKE %(templates)s))
            """,
            bridge=BRIDGE,
            core=CORE,
            fields=MOVED_FIELDS,
            templates=TEMPLATE_NAMES,
        )
    )
    cr.execute(SQL("SELECT state FROM ir_module_module WHERE name = %s", BRIDGE))
    row = cr.fetchone()
    if not row:
        _logger.warning(
            "%s: add %s to the addons path and install it to keep sending the SMS of your stages",
            CORE,
            BRIDGE,
        )
    elif row[0] == "uninstalled":
        # Odoo loads the modules marked during an upgrade in the same run.
        cr.execute(SQL("UPDATE ir_module_module SET state = 'to install' WHERE name = %s", BRIDGE))
