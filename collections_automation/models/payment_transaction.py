from odoo import fields, models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    collection_enrollment_id = fields.Many2one(
        "collection.enrollment", string="Collection", index="btree_not_null", ondelete="set null"
    )
    collection_enrollment_ids = fields.Many2many(
        "collection.enrollment",
        string="Collections paid",
        help="Every collection this payment pays: its invoices learn of it through reconciliation, "
        "standalone payment requests are credited each with their own amount.",
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
        # Measured before Odoo's accounting reconciles the invoices: what is
        # left of the amount pays the standalone requests.
        shares = {
            transaction: transaction._collection_standalone_share()
            for transaction in self.filtered(
                lambda tx: tx.state == "done" and not tx.is_post_processed and tx.operation != "validation"
            )
        }
        result = super()._post_process()
        for transaction, share in shares.items():
            transaction._collection_credit_requests(share)
        return result

    def _collection_paid_enrollments(self):
        self.ensure_one()
        return self.collection_enrollment_ids or self.collection_enrollment_id

    def _collection_standalone_share(self):
        """The part of the amount that pays standalone requests: the
        amount less what the invoices still owe."""
        self.ensure_one()
        invoices_due = sum(self.invoice_ids.mapped("amount_residual"))
        return max(self.currency_id.round(self.amount - invoices_due), 0.0)

    def _collection_credit_requests(self, amount):
        """Credit each standalone request of the payment with its own share,
        oldest due first. Invoices learn of payments through reconciliation."""
        self.ensure_one()
        requests = self._collection_paid_enrollments().filtered(lambda e: not e.move_id)
        for request in requests.sorted(lambda e: (e.due_date or fields.Date.today(), e.id)):
            paid = min(amount, request.amount_residual)
            if self.currency_id.compare_amounts(paid, 0.0) <= 0:
                break
            # The customer paid through the provider; crediting the request
            # they paid is a consequence of it, whoever runs the post-processing.
            request.sudo()._record_payment(paid)
            amount -= paid

    # ------------------------------------------------------------------
    # Off-session charges of the collections engine
    # ------------------------------------------------------------------

    def _collection_charge(self, idempotency_key):
        """Charge this offline transaction with its token. Returns the
        provider's (decline code, advice code) of a decline, else
        (None, None). Odoo's token flow does not tell them: a provider's
        bridge module (collections_automation_stripe) overrides this to
        learn them, and uses ``idempotency_key`` so that a rerun after a
        crash does not charge again."""
        self.ensure_one()
        self._charge_with_token()
        return None, None
