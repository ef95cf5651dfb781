from odoo import api, models


class CollectionEngine(models.AbstractModel):
    _inherit = "collection.engine"

    @api.model
    def _get_stage_action_names(self):
        """The SMS goes out after the email and the letter, as it did when
        the core sent it: a stage's messages keep their order."""
        names = super()._get_stage_action_names()
        names.insert(names.index("letter") + 1, "sms")
        return names
