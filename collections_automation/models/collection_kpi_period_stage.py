from odoo import fields, models


class CollectionKpiPeriodStage(models.Model):
    """What one stage did in a period of ``collection.kpi.period``: the
    collections that reached it, those paid before the next stage, and the
    cash collected after it, as the KPI screen's stage table counts them. A
    line without a stage holds what was paid before any stage ran."""

    _name = "collection.kpi.period.stage"
    _description = "Collections KPIs by period and stage"
    _order = "period_id, process_id, stage_id"

    period_id = fields.Many2one(
        "collection.kpi.period",
        string="Period KPIs",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="period_id.company_id", store=True)
    currency_id = fields.Many2one(related="period_id.currency_id")
    period_type = fields.Selection(related="period_id.period_type", store=True)
    date_from = fields.Date(related="period_id.date_from", store=True, string="Period")
    # What a period kept stays when its stage or process goes: the stage's
    # name and figures are the period's.
    process_id = fields.Many2one("collection.process", readonly=True, ondelete="set null")
    stage_id = fields.Many2one("collection.stage", readonly=True, ondelete="set null")
    # The stage's own name in the company's language, kept like the rest of
    # the period's figures: it groups the stages of a name ("Final notice"
    # of each process) where the process shows beside it.
    stage_name = fields.Char(string="Stage name", readonly=True)
    cash_collected = fields.Monetary(string="Cash collected after it", readonly=True, aggregator="sum")
    reached = fields.Integer(string="Collections that reached it", readonly=True, aggregator="sum")
    paid_before_next = fields.Integer(string="Paid before the next stage", readonly=True, aggregator="sum")
