"""19.0.1.5.1, before the update: the engine's back-off after an error is
named apart from the payment retry of a declined card: the collection's
``retry_after`` becomes ``backoff_until``, its values kept."""

from odoo.tools import SQL
from odoo.tools.sql import column_exists, drop_index, rename_column


def migrate(cr, version):
    if not version or not column_exists(cr, "collection_enrollment", "retry_after"):
        return
    rename_column(cr, "collection_enrollment", "retry_after", "backoff_until")
    drop_index(cr, "collection_enrollment__retry_after_index", "collection_enrollment")
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
