from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_date


class CollectionStageActionPaymentRetry(models.AbstractModel):
    """Charge the customer's saved payment method, off-session. The key is
    taken and flushed before the charge, whose effect a rollback cannot
    undo; it is also the provider's idempotency key, so a rerun after a
    crash never charges twice. A new attempt of the retry schedule has a key
    of its own (``...:payment_retry:2`` for the second). A declined charge,
    known at once or by webhook, is answered here by its class: the retry
    schedule, the customer's new payment method, or never again."""

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
        token = self._get_token(enrollment)
        skip_reason = self._get_skip_reason(enrollment, token)
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
            self.env["payment.transaction"]
            .sudo()
            .create(self._prepare_transaction_values(enrollment, token, key))
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
            values["decline_class"] = self._handle_decline(
                enrollment, token, decline_code, advice_code, attempt
            )
        event.write(values)

    @api.model
    def _get_token(self, enrollment):
        """The customer's saved payment method to charge, if any: the one
        saved last."""
        return (
            self.env["payment.token"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", enrollment.partner_id.commercial_partner_id.id),
                    ("provider_id.state", "in", ("enabled", "test")),
                    ("provider_id.company_id", "=", enrollment.company_id.id),
                ],
                order="id desc",
                limit=1,
            )
        )

    @api.model
    def _get_skip_reason(self, enrollment, token):
        """Why the retry must not charge ``token``, or False."""
        if not token:
            return self.env._("No saved payment method to charge.")
        if enrollment.retry_blocked == "hard":
            return self.env._("An earlier decline said never to retry.")
        if enrollment.retry_blocked == "customer" and token == enrollment.retry_blocked_token_id:
            return self.env._("Waiting for the customer to update the payment method.")
        return False

    @api.model
    def _get_transaction_reference(self, enrollment, key):
        """The charge's reference, made of its once-only key: Odoo's
        providers take their idempotency key from it, so the rerun of a
        charge after a crash asks the provider the same question, even if
        other payments of the invoice were started in between."""
        return f"{enrollment.name}-{key.replace(':', '-')}"

    @api.model
    def _prepare_transaction_values(self, enrollment, token, key):
        return {
            "reference": self._get_transaction_reference(enrollment, key),
            "provider_id": token.provider_id.id,
            "payment_method_id": token.payment_method_id.id,
            "token_id": token.id,
            "operation": "offline",
            "amount": enrollment.amount_residual,
            "currency_id": enrollment.currency_id.id,
            "partner_id": enrollment.partner_id.id,
            "invoice_ids": [fields.Command.set(enrollment._get_payable_invoices().ids)],
            "collection_enrollment_id": enrollment.id,
        }

    @api.model
    def _handle_decline(self, enrollment, token, decline_code, advice_code, attempt=0, declined_stage=None):
        """Answer a declined retry by its class: try again by the process's
        retry schedule, ask the customer for a new payment method, or never
        retry again. Returns the class. ``declined_stage``: the stage whose
        charge was declined, when the decline comes after the engine ran it
        (a webhook)."""
        decline_class = self.env["collection.decline.code"].sudo()._classify(decline_code, advice_code)
        if decline_class == "soft" and declined_stage:
            self._plan_retry_after_late_soft_decline(enrollment, declined_stage, attempt, decline_code)
        elif decline_class == "soft":
            self._plan_retry_after_soft_decline(enrollment, attempt, decline_code)
        elif decline_class == "customer":
            enrollment.write({"retry_blocked": "customer", "retry_blocked_token_id": token.id})
            template = self.env.ref("collections_automation.mail_template_update_payment_method")
            enrollment.message_post_with_source(template, subtype_xmlid="mail.mt_comment")
        elif decline_class == "hard":
            enrollment.write({"retry_blocked": "hard", "retry_blocked_token_id": token.id})
            enrollment.message_post(
                body=self.env._(
                    "Payment retries stopped: the card was declined (%(code)s) and must not be tried again.",
                    code=advice_code or decline_code,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return decline_class

    @api.model
    def _plan_retry_after_soft_decline(self, enrollment, attempt, decline_code):
        """Plan the next attempt of the retry schedule, or say that the
        schedule is done and the process moves on."""
        waits = enrollment.process_id._get_retry_waits()
        if attempt < len(waits):
            retry_date = enrollment._company_today() + timedelta(days=waits[attempt])
            enrollment.write({"retry_attempt": attempt + 1, "retry_next_date": retry_date})
            body = self.env._(
                "The saved payment method was declined (%(code)s): next attempt on %(date)s.",
                code=decline_code or self.env._("no code"),
                date=format_date(self.env, retry_date),
            )
        else:
            body = self.env._(
                "The saved payment method was declined (%(code)s) and the retry schedule is done: "
                "the process moves on.",
                code=decline_code or self.env._("no code"),
            )
        enrollment.message_post(body=body, subtype_xmlid="mail.mt_note")

    @api.model
    def _plan_retry_after_late_soft_decline(self, enrollment, stage, attempt, decline_code):
        """A soft decline learned after the engine ran the charge. While no
        other stage ran since, the charge of ``stage`` is tried again by the
        retry schedule, alone, and the next stage waits for it, as after a
        decline known at once. Once the process moved on, nothing is held
        back: the next stage that retries charges again."""
        if (
            enrollment.state == "running"
            and enrollment.stage_id == stage
            and enrollment.next_stage_id != stage
        ):
            self._plan_retry_after_soft_decline(enrollment, attempt, decline_code)
            if enrollment.retry_next_date:
                enrollment.write({"next_stage_id": stage.id, "next_action_date": enrollment.retry_next_date})
            return
        enrollment.message_post(
            body=self.env._(
                "The saved payment method was declined (%(code)s) after the process moved on: the next "
                "stage that retries charges again.",
                code=decline_code or self.env._("no code"),
            ),
            subtype_xmlid="mail.mt_note",
        )
