from odoo import api, models


class CollectionStageActionPaymentRetry(models.AbstractModel):
    """Charge the customer's saved payment method, off-session. The key is
    taken and flushed before the charge, whose effect a rollback cannot
    undo; it is also the provider's idempotency key, so a rerun after a
    crash never charges twice. A new attempt of the retry schedule has a key
    of its own (``...:payment_retry:2`` for the second)."""

    _name = "collection.stage.action.payment_retry"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Payment Retry"
    _action = "payment_retry"

    @api.model
    def _applies(self, stage):
        return stage.retry_payment

    @api.model
    def _run(self, groups):
        for stage, group in groups:
            for enrollment in group:
                self._charge(enrollment, stage)

    @api.model
    def _get_attempt(self, enrollment, stage):
        """Soft declines so far at this stage: 0 on the stage's first run."""
        return enrollment.retry_attempt if enrollment._is_retry_rerun(stage) else 0

    @api.model
    def _get_key(self, enrollment, stage):
        key = super()._get_key(enrollment, stage)
        attempt = self._get_attempt(enrollment, stage)
        return f"{key}:{attempt + 1}" if attempt else key

    @api.model
    def _charge(self, enrollment, stage):
        enrollment.ensure_one()
        attempt = self._get_attempt(enrollment, stage)
        key = self._get_key(enrollment, stage)
        if enrollment.retry_next_date:
            enrollment.retry_next_date = False
        token = enrollment._get_retry_token()
        skip_reason = enrollment._get_retry_skip_reason(token)
        if skip_reason:
            self._claim(
                [(stage, enrollment)],
                [{"attempt": attempt + 1, "outcome": "skipped", "message": skip_reason}],
            )
            return
        if enrollment.retry_blocked:  # the customer saved a new payment method
            enrollment.write({"retry_blocked": False, "retry_blocked_token_id": False})
        event = self._claim(
            [(stage, enrollment)], [{"attempt": attempt + 1, "amount": enrollment.amount_residual}]
        )
        # Transactions are created by the payment module's own rules; the
        # enrollment was locked and checked by the engine.
        transaction = (
            self.env["payment.transaction"].sudo().create(enrollment._prepare_retry_transaction_values(token))
        )
        decline_code, advice_code = transaction._collection_charge(idempotency_key=key)
        if transaction.state == "done":
            # Accounting now, not at the next post-processing cron: the
            # payment is reconciled and the enrollment closes as paid.
            transaction._post_process()
        failed = transaction.state in ("error", "cancel")
        values = {
            "payment_transaction_id": transaction.id,
            "outcome": "failed" if failed else "done",
            "message": transaction.state_message or transaction.state,
            "decline_code": decline_code,
            "advice_code": advice_code,
        }
        if failed:
            values["decline_class"] = enrollment._handle_decline(token, decline_code, advice_code, attempt)
        event.write(values)
