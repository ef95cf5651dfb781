from odoo import fields, models

from .collection_enrollment import LADDER_STATES


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "collection.late.charge.waiver"]

    collection_hold = fields.Boolean(
        string="Collection hold",
        company_dependent=True,
        tracking=True,
        help="No collection process starts for this customer while on hold.",
    )
    collection_is_business = fields.Boolean(
        string="Business customer",
        tracking=True,
        help="A person who buys for a trade or profession, such as a sole trader: late charge rules "
        "between businesses apply, as to companies and to customers with a VAT number.",
    )
    collection_enrollment_ids = fields.One2many("collection.enrollment", "partner_id", string="Collections")
    collection_enrollment_count = fields.Integer(compute="_compute_collection_enrollment_count")
    collection_open_count = fields.Integer(string="Open collections", compute="_compute_collection_figures")
    collection_amount_due = fields.Monetary(
        string="Due in collections",
        currency_field="collection_currency_id",
        compute="_compute_collection_figures",
        help="Amount due of the open collections, in the company's currency.",
    )
    collection_currency_id = fields.Many2one("res.currency", compute="_compute_collection_figures")
    collection_promise_count = fields.Integer(string="Open promises", compute="_compute_collection_figures")
    collection_dispute_count = fields.Integer(string="Open disputes", compute="_compute_collection_figures")
    collection_avg_days_to_pay = fields.Float(
        string="Average days to pay",
        digits=(16, 1),
        compute="_compute_collection_figures",
        help="For the paid collections of this customer: days from the invoice date (or the request's "
        "enrollment) to the day it was paid, on average.",
    )

    def _commercial_fields(self):
        return [*super()._commercial_fields(), "collection_is_business"]

    def _collection_is_business(self):
        """Whether the customer buys as a business (EU Directive 2011/7/EU,
        art. 2 (3): any undertaking, a sole trader included): a company, a
        customer with a VAT number, or one marked as a business."""
        self.ensure_one()
        customer = self.commercial_partner_id
        return bool(customer.is_company or customer.vat or customer.collection_is_business)

    def _compute_collection_enrollment_count(self):
        counts = dict(
            self.env["collection.enrollment"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                groupby=["partner_id"],
                aggregates=["__count"],
            )
        )
        for partner in self:
            partner.collection_enrollment_count = counts.get(partner.commercial_partner_id, 0)

    def action_view_collection_enrollments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_enrollment_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"search_default_open": 1}
        return action

    def _compute_collection_figures(self):
        company = self.env.company
        Enrollment = self.env["collection.enrollment"]
        partners = self.commercial_partner_id
        open_groups = Enrollment._read_group(
            [("partner_id", "child_of", partners.ids), ("state", "in", LADDER_STATES)],
            groupby=["partner_id", "currency_id", "pause_reason"],
            aggregates=["__count", "amount_residual:sum"],
        )
        paid = Enrollment.search([("partner_id", "child_of", partners.ids), ("state", "=", "paid")])
        today = fields.Date.context_today(self)
        for partner in self:
            commercial = partner.commercial_partner_id
            mine = [row for row in open_groups if row[0].commercial_partner_id == commercial]
            partner.collection_currency_id = company.currency_id
            partner.collection_open_count = sum(count for *_keys, count, _amount in mine)
            partner.collection_amount_due = sum(
                currency._convert(amount, company.currency_id, company, today)
                for _partner, currency, _reason, _count, amount in mine
            )
            partner.collection_promise_count = sum(
                count for _p, _c, reason, count, _a in mine if reason == "promise"
            )
            partner.collection_dispute_count = sum(
                count for _p, _c, reason, count, _a in mine if reason == "dispute"
            )
            days = [
                (enrollment.closed_on - (enrollment.move_id.invoice_date or enrollment.enrolled_on)).days
                for enrollment in paid
                if enrollment.partner_id.commercial_partner_id == commercial and enrollment.closed_on
            ]
            partner.collection_avg_days_to_pay = sum(days) / len(days) if days else 0.0
