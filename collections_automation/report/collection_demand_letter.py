from odoo import api, models


class ReportCollectionDemandLetter(models.AbstractModel):
    """The demand letter's values: the claim of each collection and the
    letter of its customer's country."""

    _name = "report.collections_automation.collection_demand_letter"
    _description = "Collection Demand Letter"

    @api.model
    def _get_letter_template(self, enrollment):
        variant = self.env["collection.legal.action"]._get_demand_letter_variant(enrollment)
        return f"collections_automation.collection_demand_letter_{variant}"

    @api.model
    def _get_report_values(self, docids, data=None):
        Legal = self.env["collection.legal.action"]
        return Legal._get_report_values(
            docids, claims=Legal._prepare_claim, letters=self._get_letter_template
        )
