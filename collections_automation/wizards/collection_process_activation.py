from odoo import api, fields, models


class CollectionProcessActivation(models.TransientModel):
    _name = "collection.process.activation"
    _description = "Activate a Collection Process"

    process_id = fields.Many2one("collection.process", required=True, readonly=True, ondelete="cascade")
    enroll_count = fields.Integer(compute="_compute_enroll_counts", string="Enrolled at the next run")
    overdue_count = fields.Integer(compute="_compute_enroll_counts", string="Already overdue")
    not_yet_due_count = fields.Integer(compute="_compute_enroll_counts", string="Not yet due")
    enroll_amount = fields.Monetary(compute="_compute_enroll_counts", string="Amount due")
    currency_id = fields.Many2one(related="process_id.company_id.currency_id")
    auto_enroll_off = fields.Boolean(compute="_compute_auto_enroll_off")

    @api.depends("process_id.company_id.collection_auto_enroll")
    def _compute_auto_enroll_off(self):
        for wizard in self:
            wizard.auto_enroll_off = not wizard.process_id.company_id.collection_auto_enroll

    @api.depends("process_id")
    def _compute_enroll_counts(self):
        Engine = self.env["collection.engine"]
        for wizard in self:
            process = wizard.process_id
            today = process.company_id._get_collection_today()
            invoices = self.env["account.move"]
            for chunk in Engine._get_auto_enroll_choices(process.company_id, process):
                invoices |= self.env["account.move"].union(*(invoice for invoice, _process, _rule in chunk))
            overdue = invoices.filtered(lambda invoice, today=today: invoice.invoice_date_due < today)
            wizard.enroll_count = len(invoices)
            wizard.overdue_count = len(overdue)
            wizard.not_yet_due_count = len(invoices - overdue)
            wizard.enroll_amount = sum(invoices.mapped("amount_residual_signed"))

    def action_activate(self):
        self.ensure_one()
        process = self.process_id
        process.active = True
        process.message_post(
            body=self.env._(
                "Activated by %(user)s: its triggers enroll %(count)s open invoice(s) at the next "
                "engine run.",
                user=self.env.user.name,
                count=self.enroll_count,
            )
        )
        return {"type": "ir.actions.act_window_close"}
