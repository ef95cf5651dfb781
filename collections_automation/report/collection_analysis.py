from odoo import api, fields, models
from odoo.tools import SQL

from ..models.collection_enrollment import OPEN_STATES, PAUSE_REASONS


class CollectionAnalysis(models.Model):
    """One row per enrollment, amounts in the company's currency, for the
    pivot and graph of Collections > Analysis. An invoice's amounts convert at
    the invoice's own rate, as its accounting does; a standalone request's at
    today's rate."""

    _name = "collection.analysis"
    _description = "Collections Analysis"
    _auto = False
    _rec_name = "enrollment_id"
    _order = "enrolled_on desc"

    enrollment_id = fields.Many2one("collection.enrollment", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    process_id = fields.Many2one("collection.process", readonly=True)
    stage_id = fields.Many2one("collection.stage", string="Last stage", readonly=True)
    segment_rule_id = fields.Many2one("collection.segment.rule", readonly=True)
    user_id = fields.Many2one("res.users", string="Responsible", readonly=True)
    invoice_user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    country_id = fields.Many2one("res.country", readonly=True)
    enrollment_currency_id = fields.Many2one("res.currency", string="Currency of the debt", readonly=True)
    currency_id = fields.Many2one("res.currency", string="Company currency", readonly=True)
    enrolled_on = fields.Date(readonly=True)
    closed_on = fields.Date(readonly=True)
    state = fields.Selection(
        selection=lambda self: self.env["collection.enrollment"]._fields["state"].selection, readonly=True
    )
    pause_reason = fields.Selection(PAUSE_REASONS, readonly=True)
    is_standalone = fields.Boolean(string="Payment request", readonly=True)
    amount_enrolled = fields.Monetary(readonly=True, aggregator="sum")
    amount_charged = fields.Monetary(string="Late charges", readonly=True, aggregator="sum")
    amount_collected = fields.Monetary(readonly=True, aggregator="sum")
    amount_outstanding = fields.Monetary(readonly=True, aggregator="sum")
    days_to_collect = fields.Float(
        readonly=True, aggregator="avg", help="Paid collections: days from enrollment to full payment."
    )

    _depends = {
        "collection.enrollment": [
            "company_id", "process_id", "stage_id", "segment_rule_id", "user_id", "invoice_user_id",
            "partner_id", "currency_id", "enrolled_on", "closed_on", "state", "pause_reason", "move_id",
            "amount_due_at_enrollment", "amount_charged", "amount_collected", "amount_residual",
            "invoice_currency_rate",
        ],
        "res.partner": ["country_id", "commercial_partner_id"],
    }  # fmt: skip

    @api.model
    def _read_group(self, *args, **kwargs):
        with self.env["collection.kpi"]._reporting_settings():
            return super()._read_group(*args, **kwargs)

    @api.model
    def _read_grouping_sets(self, *args, **kwargs):
        # The pivot's query: every collection, grouped several ways at once.
        with self.env["collection.kpi"]._reporting_settings():
            return super()._read_grouping_sets(*args, **kwargs)

    @property
    def _table_query(self):
        return SQL("%s %s", self._select(), self._from())

    @api.model
    def _converted(self, column):
        """``column`` of the enrollment, in the company's currency."""
        return SQL(
            """COALESCE(
                enrollment.%(column)s / NULLIF(enrollment.invoice_currency_rate, 0),
                CASE WHEN enrollment.currency_id = company.currency_id THEN enrollment.%(column)s
                     ELSE enrollment.%(column)s / NULLIF(request_rate.rate, 0) END
            )""",
            column=SQL.identifier(column),
        )

    @api.model
    def _select(self):
        return SQL(
            """
            SELECT
                enrollment.id AS id,
                enrollment.id AS enrollment_id,
                enrollment.company_id,
                enrollment.process_id,
                enrollment.stage_id,
                enrollment.segment_rule_id,
                enrollment.user_id,
                enrollment.invoice_user_id,
                partner.commercial_partner_id AS partner_id,
                COALESCE(partner.country_id, commercial.country_id) AS country_id,
                enrollment.currency_id AS enrollment_currency_id,
                company.currency_id AS currency_id,
                enrollment.enrolled_on,
                enrollment.closed_on,
                enrollment.state,
                enrollment.pause_reason,
                enrollment.move_id IS NULL AS is_standalone,
                %(enrolled)s AS amount_enrolled,
                %(charged)s AS amount_charged,
                %(collected)s AS amount_collected,
                CASE WHEN enrollment.state IN %(open_states)s
                     THEN %(residual)s ELSE 0 END AS amount_outstanding,
                CASE WHEN enrollment.state = 'paid'
                     THEN enrollment.closed_on - enrollment.enrolled_on END AS days_to_collect
            """,
            enrolled=self._converted("amount_due_at_enrollment"),
            charged=self._converted("amount_charged"),
            collected=self._converted("amount_collected"),
            residual=self._converted("amount_residual"),
            open_states=OPEN_STATES,
        )

    @api.model
    def _from(self):
        return SQL(
            """
            FROM collection_enrollment enrollment
                JOIN res_company company ON company.id = enrollment.company_id
                -- Outer joins on keys that always match: PostgreSQL leaves out
                -- those whose columns a query does not read (a pivot by process
                -- reads no customer).
                LEFT JOIN res_partner partner ON partner.id = enrollment.partner_id
                LEFT JOIN res_partner commercial ON commercial.id = partner.commercial_partner_id
                LEFT JOIN LATERAL (
                    SELECT rate.rate
                      FROM res_currency_rate rate
                     WHERE rate.currency_id = enrollment.currency_id
                       AND (rate.company_id = enrollment.company_id OR rate.company_id IS NULL)
                       AND rate.name <= CURRENT_DATE
                  ORDER BY rate.company_id IS NULL, rate.name DESC
                     LIMIT 1
                ) request_rate ON enrollment.move_id IS NULL
            """
        )
