from odoo import api, fields, models
from odoo.exceptions import UserError

from .collection_enrollment import OPEN_STATES


class AccountMove(models.Model):
    _inherit = "account.move"

    collection_enrollment_ids = fields.One2many("collection.enrollment", "move_id", string="Collections")
    collection_enrollment_id = fields.Many2one(
        "collection.enrollment",
        string="Collection",
        compute="_compute_collection_enrollment",
        store=True,
        index="btree_not_null",
        help="The latest collection of this invoice.",
    )
    collection_state = fields.Selection(related="collection_enrollment_id.state", string="Collection status")
    collection_stage_id = fields.Many2one(
        related="collection_enrollment_id.stage_id", string="Collection stage"
    )
    collection_next_action_date = fields.Date(
        related="collection_enrollment_id.next_action_date", string="Next collection action"
    )

    @api.depends("collection_enrollment_ids")
    def _compute_collection_enrollment(self):
        for move in self:
            move.collection_enrollment_id = move.collection_enrollment_ids.sorted("id", reverse=True)[:1]

    def _get_collection_refusal(self):
        """Why this invoice cannot be enrolled, or False."""
        self.ensure_one()
        if self.move_type != "out_invoice":
            if self.move_type == "out_refund":
                return self.env._("%(move)s is a credit note.", move=self.display_name)
            return self.env._("%(move)s is not a customer invoice.", move=self.display_name)
        if self.state != "posted":
            state = dict(self._fields["state"]._description_selection(self.env))[self.state]
            return self.env._(
                "%(move)s is %(state)s: only posted invoices can be collected.",
                move=self.display_name,
                state=state,
            )
        if self.payment_state in ("paid", "in_payment", "reversed") or self.currency_id.is_zero(
            self.amount_residual
        ):
            return self.env._("%(move)s has nothing left to pay.", move=self.display_name)
        if self.no_followup:
            return self.env._("%(move)s is excluded from follow-up.", move=self.display_name)
        if self.commercial_partner_id.collection_hold:
            return self.env._(
                "%(partner)s is on collection hold.", partner=self.commercial_partner_id.display_name
            )
        if self.collection_enrollment_ids.filtered(lambda e: e.state in OPEN_STATES):
            return self.env._("%(move)s is already in a collection process.", move=self.display_name)
        return False

    def collection_enroll(self, process_id=False, start_date=False):
        """Enroll these invoices in collections and return the enrollments.

        With no ``process_id``, segment rules choose the process of each
        invoice (the company's default process when no rule fits). Refused,
        with every reason, when one of them cannot be collected."""
        self.env["collection.enrollment"].check_access("create")
        self.check_access("read")
        refusals = [reason for move in self if (reason := move._get_collection_refusal())]
        if refusals:
            raise UserError(self.env._("Collections cannot start:\n%(reasons)s", reasons="\n".join(refusals)))
        process = self.env["collection.process"].browse(process_id)
        if process_id and not process.exists():
            raise UserError(self.env._("The collection process %(id)s does not exist.", id=process_id))
        if process:
            choices = dict.fromkeys(self, (process, self.env["collection.segment.rule"]))
        else:
            choices = self.env["collection.segment.rule"]._find_process_for_invoices(self)
        without_process = [move.display_name for move, (chosen, _rule) in choices.items() if not chosen]
        if without_process:
            raise UserError(
                self.env._(
                    "No segment rule fits %(moves)s and the company has no default process: "
                    "choose a process, or set a default one in the Collections settings.",
                    moves=", ".join(without_process),
                )
            )
        # Enrollments belong to the collections team, not to whoever posted
        # the invoice; access was checked above.
        return (
            self.env["collection.enrollment"]
            .sudo()
            .create(
                [
                    move._prepare_collection_enrollment_values(chosen, rule, start_date)
                    for move, (chosen, rule) in choices.items()
                ]
            )
            .sudo(False)
        )

    def _prepare_collection_enrollment_values(self, process, rule, start_date=False):
        self.ensure_one()
        values = {
            "move_id": self.id,
            "partner_id": self.commercial_partner_id.id,
            "company_id": self.company_id.id,
            "process_id": process.id,
            "segment_rule_id": rule.id,
            "currency_id": self.currency_id.id,
            "amount_due_at_enrollment": self.amount_residual,
            "due_date": self.invoice_date_due,
            "reference": self.name,
        }
        if start_date:
            values["enrolled_on"] = start_date
        return values

    def action_collection_enroll(self):
        """Open the wizard that starts collections on the selected invoices."""
        return self.env["collection.enroll.wizard"].action_open(self)

    def action_open_collection(self):
        self.ensure_one()
        return self.collection_enrollment_id._get_records_action(name=self.env._("Collection"))

    def action_test_collection_rules(self):
        self.ensure_one()
        return self.env["collection.rule.test"].action_open(move=self)

    def button_cancel(self):
        result = super().button_cancel()
        self._collection_sync()
        return result

    def button_draft(self):
        result = super().button_draft()
        self._collection_sync()
        return result

    def _collection_sync(self):
        enrollments = self.sudo().collection_enrollment_ids.filtered(lambda e: e.state in OPEN_STATES)
        # The payment or the cancellation was allowed to this user; closing
        # the enrollment that follows the invoice is a consequence of it.
        enrollments._sync_with_invoices()
