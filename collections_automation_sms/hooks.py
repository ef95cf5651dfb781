import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Filled by collections_automation's 19.0.1.3.0 upgrade, when the SMS moved
# here: the shipped templates as the users had made them.
TEMPLATE_STASH = "collections_automation_sms_template_stash"


def post_init_hook(env):
    """Installing this module rewrote its shipped templates (Odoo's install
    mode loads even noupdate records): in a database upgraded from the
    core's SMS, put back what the users had made of them."""
    cr = env.cr
    cr.execute(SQL("SELECT to_regclass(%s)", TEMPLATE_STASH))
    if not cr.fetchone()[0]:
        return
    # The install's own writes of the templates must land first.
    env.flush_all()
    cr.execute(
        SQL(
            """
            UPDATE sms_template template
               SET name = stash.name, body = stash.body
              FROM %(stash)s stash
             WHERE stash.id = template.id
            """,
            stash=SQL.identifier(TEMPLATE_STASH),
        )
    )
    _logger.info("collections: %s SMS templates kept as they were before the upgrade", cr.rowcount)
    cr.execute(SQL("DROP TABLE %s", SQL.identifier(TEMPLATE_STASH)))
    env["sms.template"].invalidate_model(["name", "body"], flush=False)
