from odoo import fields, models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    collection_enrollment_id = fields.Many2one(
        "collection.enrollment", string="Collection", index="btree_not_null", ondelete="set null"
    )

    def _set_error(self, state_message, extra_allowed_states=()):
        failed = super()._set_error(state_message, extra_allowed_states=extra_allowed_states)
        failed._collection_enroll_failed_invoices()
        return failed

    def _collection_enroll_failed_invoices(self):
        """A failed online payment of an invoice enrolls it in the process
        set for failed payments, when the invoice can be collected."""
        invoices = self.invoice_ids.filtered(lambda move: not move._get_collection_refusal())
        if not invoices:
            return
        processes = (
            self.env["collection.process"]
            .sudo()
            .search([("enroll_on_payment_failure", "=", True), ("company_id", "in", invoices.company_id.ids)])
        )
        for invoice in invoices:
            process = processes.filtered(lambda p, inv=invoice: p.company_id == inv.company_id)[:1]
            if process:
                # The payment provider reported the failure; the customer
                # does not hold collections rights, the add-on does.
                invoice.sudo().collection_enroll(process_id=process.id)

    def _post_process(self):
        result = super()._post_process()
        for transaction in self.filtered(lambda tx: tx.state == "done" and tx.collection_enrollment_id):
            # Invoices learn of payments through reconciliation; a standalone
            # payment request learns of it here.
            transaction.collection_enrollment_id.sudo()._record_payment(transaction.amount)
        return result
