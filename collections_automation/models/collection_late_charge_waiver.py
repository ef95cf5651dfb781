from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CollectionLateChargeWaiver(models.AbstractModel):
    """A waiver of late charges, with its reason: on a customer, or on one
    invoice. The chatter keeps who waived and when."""

    _name = "collection.late.charge.waiver"
    _description = "Collection Late Charge Waiver"

    collection_late_charge_waived = fields.Boolean(
        string="Late charges waived",
        tracking=True,
        copy=False,
        help="No late interest, compensation or fee is charged.",
    )
    collection_late_charge_waiver_reason = fields.Char(string="Waiver reason", tracking=True, copy=False)

    @api.constrains("collection_late_charge_waived", "collection_late_charge_waiver_reason")
    def _check_collection_late_charge_waiver_reason(self):
        for record in self:
            if (
                record.collection_late_charge_waived
                and not (record.collection_late_charge_waiver_reason or "").strip()
            ):
                raise ValidationError(
                    self.env._("Say why the late charges of %(name)s are waived.", name=record.display_name)
                )
