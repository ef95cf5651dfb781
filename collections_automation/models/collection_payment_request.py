from odoo import api, fields, models
from odoo.exceptions import LockError, UserError, ValidationError
from odoo.fields import Domain

from .collection_enrollment import OPEN_STATES


class CollectionEnrollment(models.Model):
    """A collection as the customer meets it: the payment request, its page
    (what one page covers, its links), online payments of it, and the
    "collect any payment" API that creates standalone requests."""

    _inherit = "collection.enrollment"

    def _get_request_domain(self):
        self.ensure_one()
        return Domain(
            [
                ("partner_id.commercial_partner_id", "=", self.partner_id.commercial_partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("currency_id", "=", self.currency_id.id),
                ("state", "in", OPEN_STATES),
            ]
        )

    def _get_request_enrollments(self):
        """What one payment-request page covers: with a process that
        consolidates, all the customer's open enrollments of this company
        and currency; otherwise this enrollment."""
        self.ensure_one()
        if self.state not in OPEN_STATES or not self.process_id.consolidate:
            return self
        return self.search(self._get_request_domain(), order="due_date, id") | self

    def _get_replacement(self):
        """The open collection of the same invoice that replaced this one,
        if any."""
        self.ensure_one()
        if self.cancel_reason != "reenrolled":
            return self.browse()
        return self.move_id.collection_enrollment_ids.filtered(lambda e: e.state in OPEN_STATES)[:1]

    @api.model
    def create_payment_request(self, values):
        """Enroll an amount owed outside Odoo's invoices ("collect any payment").

        ``values``: partner_id, amount, currency_id (the company's when
        omitted), reference, due_date, description, and optionally
        process_id (the company's default process when omitted)."""
        self.check_access("create")
        partner = self.env["res.partner"].browse(values.get("partner_id")).exists()
        if not partner:
            raise ValidationError(self.env._("A payment request needs an existing customer."))
        amount = values.get("amount") or 0.0
        if amount <= 0:
            raise ValidationError(self.env._("A payment request needs an amount greater than zero."))
        company = self.env["res.company"].browse(values.get("company_id")) or self.env.company
        process = self.env["collection.process"].browse(values.get("process_id")) or (
            company.collection_default_process_id
        )
        if not process:
            raise UserError(
                self.env._(
                    "No process for this payment request: give process_id or set a default process "
                    "for %(company)s.",
                    company=company.name,
                )
            )
        today = company._get_collection_today()
        return self.create(
            {
                "partner_id": partner.commercial_partner_id.id,
                "company_id": company.id,
                "process_id": process.id,
                "currency_id": values.get("currency_id") or company.currency_id.id,
                "amount_due_at_enrollment": amount,
                "reference": values.get("reference"),
                "description": values.get("description"),
                "due_date": values.get("due_date") or today,
            }
        )

    def _get_pending_transactions(self):
        """The payments of these requests still on their way: pending or
        authorized at the provider, or done but not yet accounted for (the
        amount due does not show them yet)."""
        in_flight = Domain("state", "in", ("pending", "authorized")) | Domain(
            [("state", "=", "done"), ("is_post_processed", "=", False)]
        )
        paying = Domain("collection_enrollment_id", "in", self.ids) | Domain(
            "collection_enrollment_ids", "in", self.ids
        )
        if self.move_id:
            paying |= Domain("invoice_ids", "in", self.move_id.ids)
        # Payments of the customer's own requests, which the caller checked.
        return self.env["payment.transaction"].sudo().search(in_flight & paying, order="id desc")

    def _start_online_payment(self):
        """Take these requests for a new online payment, or refuse it while
        another one is on its way. The rows are locked, then written: a
        second payment of them at the same moment fails on the lock, or,
        started before this one committed, on a concurrent update (Odoo
        retries the request with fresh data); either way it cannot charge
        without seeing this payment's transaction."""
        try:
            self.lock_for_update()
        except LockError as error:
            raise ValidationError(
                self.env._(
                    "A payment of these invoices is being made right now: reload the page in a moment."
                )
            ) from error
        pending = self._get_pending_transactions()
        if pending:
            raise ValidationError(
                self.env._(
                    "A payment of %(amount)s for these invoices is already being processed (%(reference)s): "
                    "reload the page to see how it ends before paying again.",
                    amount=pending[0].currency_id.format(pending[0].amount),
                    reference=pending[0].reference,
                )
            )
        self.write({"online_payment_started_at": fields.Datetime.now()})

    def _get_payment_url(self):
        """The absolute link a customer follows to pay, promise or dispute:
        the payment-request page, with its access token."""
        self.ensure_one()
        return self.get_base_url() + self.get_portal_url()

    def _get_payment_method_url(self):
        """The absolute link to save a new payment method without paying."""
        self.ensure_one()
        return self.get_base_url() + self.get_portal_url(suffix="/payment-method")

    def _get_consolidated_enrollments(self):
        """The enrollments one consolidated message covers, else this
        enrollment alone. The engine puts their ids in the context: for one
        message (``collection_group_ids``), or for the messages of a batch
        rendered together (``collection_groups``: (lead id, ids) pairs)."""
        ids = self.env.context.get("collection_group_ids")
        if ids:
            return self.browse(ids)
        groups = dict(self.env.context.get("collection_groups") or ())
        return self.browse(groups[self.id]) if self.id in groups else self
