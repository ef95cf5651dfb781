from odoo import fields, models

from .res_partner import SCORE_BANDS


class CollectionScoreBand(models.Model):
    """The payment score's bands, as records: a segment rule picks several."""

    _name = "collection.score.band"
    _description = "Payment score band"
    _order = "code, id"

    code = fields.Selection(SCORE_BANDS, required=True, readonly=True)
    name = fields.Char(required=True, translate=True)

    _code_unique = models.Constraint("UNIQUE(code)", "Each band exists once.")
