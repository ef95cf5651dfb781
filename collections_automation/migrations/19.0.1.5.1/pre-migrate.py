"""19.0.1.5.1, before the update: the engine's back-off after an error is
named apart from the payment retry of a declined card: the collection's
``retry_after`` becomes ``backoff_until``, its values kept."""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = 'collection_enrollment' AND column_name = 'retry_after'"
        )
    )
    if not cr.rowcount:
        return
    cr.execute(SQL("ALTER TABLE collection_enrollment RENAME COLUMN retry_after TO backoff_until"))
    cr.execute(SQL("DROP INDEX IF EXISTS collection_enrollment__retry_after_index"))
    cr.execute(
        SQL(
            "UPDATE ir_model_fields SET name = 'backoff_until'"
            " WHERE model = 'collection.enrollment' AND name = 'retry_after'"
        )
    )
    cr.execute(
        SQL(
            "UPDATE ir_model_data SET name = 'field_collection_enrollment__backoff_until'"
            " WHERE module = 'collections_automation' AND name = 'field_collection_enrollment__retry_after'"
        )
    )
