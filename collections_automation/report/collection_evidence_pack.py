from odoo import api, models


class ReportCollectionEvidencePack(models.AbstractModel):
    """The evidence pack's values: every section of each collection."""

    _name = "report.collections_automation.collection_evidence_pack"
    _description = "Collection Evidence Pack"

    @api.model
    def _get_report_values(self, docids, data=None):
        Legal = self.env["collection.legal.action"]
        return {
            **Legal._get_report_values(docids, evidence=Legal._prepare_evidence),
            "daily_interest": Legal._get_daily_interest,
        }
