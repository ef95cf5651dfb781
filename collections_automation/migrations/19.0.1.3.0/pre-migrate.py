"""19.0.1.3.0: SMS moves to the bridge module ``collections_automation_sms``,
Stripe to ``collections_automation_stripe``.

The core no longer depends on ``sms``, ``payment_stripe`` or the ``stripe``
package. A database that had the add-on keeps its SMS stages and its
(possibly edited) SMS templates, and the Stripe webhook events it received:
their fields, records and model change owner to the bridges, which are
installed in the same upgrade. Without a bridge in the addons path, what it
owns stays as it is (no table or column is dropped) until it is added.
"""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

CORE = "collections_automation"
BRIDGE = "collections_automation_sms"
STRIPE_BRIDGE = "collections_automation_stripe"
# The model of the Stripe events received, its access row and its fields.
STRIPE_MODEL = "collection.webhook.event"
STRIPE_XMLIDS = ("model_collection_webhook_event", "access_collection_webhook_event_manager")
STRIPE_FIELDS = "field\\_collection\\_webhook\\_event\\_\\_%"
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
    _install_bridge(cr, BRIDGE, "to keep sending the SMS of your stages")
    _move_stripe_to_its_bridge(cr)


def _move_stripe_to_its_bridge(cr):
    cr.execute(
        SQL(
            """
            UPDATE ir_model_data
               SET module = %(bridge)s
             WHERE module = %(core)s AND (name IN %(xmlids)s OR name LIKE %(fields)s)
            """,
            bridge=STRIPE_BRIDGE,
            core=CORE,
            xmlids=STRIPE_XMLIDS,
            fields=STRIPE_FIELDS,
        )
    )
    # Odoo drops the table of a model, or a constraint, with the last module
    # that owns it: the bridge owns them now.
    for table in ("ir_model_constraint", "ir_model_relation"):
        cr.execute(
            SQL(
                """
                UPDATE %(table)s
                   SET module = bridge.id
                  FROM ir_module_module bridge, ir_module_module core
                 WHERE bridge.name = %(bridge)s AND core.name = %(core)s
                   AND %(table)s.module = core.id
                   AND %(table)s.model = (SELECT id FROM ir_model WHERE model = %(model)s)
                """,
                table=SQL.identifier(table),
                bridge=STRIPE_BRIDGE,
                core=CORE,
                model=STRIPE_MODEL,
            )
        )
    cr.execute(SQL("SELECT 1 FROM ir_module_module WHERE name = 'payment_stripe' AND state = 'installed'"))
    if cr.fetchone():
        _install_bridge(
            cr, STRIPE_BRIDGE, "to keep retrying saved Stripe cards and receiving Stripe's webhook"
        )


def _install_bridge(cr, bridge, why):
    cr.execute(SQL("SELECT state FROM ir_module_module WHERE name = %s", bridge))
    row = cr.fetchone()
    if not row:
        _logger.warning("%s: add %s to the addons path and install it %s", CORE, bridge, why)
    elif row[0] == "uninstalled":
        # Odoo loads the modules marked during an upgrade in the same run.
        cr.execute(SQL("UPDATE ir_module_module SET state = 'to install' WHERE name = %s", bridge))
