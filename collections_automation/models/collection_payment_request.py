import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import LockError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_date, plaintext2html

from .collection_enrollment import DISPUTE_MESSAGE_MAX_LENGTH, OPEN_STATES


class CollectionEnrollmentCustomer(models.Model):
    """A collection as the customer meets it: the payment request, its page
    (what one page covers, its links), online payments of it, the "collect
    any payment" API that creates standalone requests, and what the customer
    does there: a promise to pay, a dispute, and the dispute's resolution."""

    # The collection is split by who acts: the record, its lifecycle, this side.
    _inherit = "collection.enrollment"  # pylint: disable=consider-merging-classes-inherited

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
        rendered together (``collection_groups``: (first id, ids) pairs)."""
        ids = self.env.context.get("collection_group_ids")
        if ids:
            return self.browse(ids)
        groups = dict(self.env.context.get("collection_groups") or ())
        return self.browse(groups[self.id]) if self.id in groups else self

    # ------------------------------------------------------------------
    # What the customer does on the payment page
    # ------------------------------------------------------------------

    def _in_desk_lang(self):
        """These collections in their company's desk language: what the
        customer's actions write for the team is in it, whatever language
        the page speaks (res.company._get_collection_lang)."""
        return self.with_context(lang=self[:1].company_id._get_collection_lang())

    def _get_pause_end(self):
        """The first day the pause no longer holds: its date, or for a
        promise to pay *by* a date, the day after it."""
        self.ensure_one()
        if self.pause_reason == "promise":
            return self.pause_until + timedelta(days=1)
        return self.pause_until

    def _get_promise_date_limits(self):
        """(first, last) day a customer may promise to pay by."""
        self.ensure_one()
        today = self._company_today()
        return today + timedelta(days=1), today + timedelta(days=self.process_id.promise_max_days)

    def action_promise_to_pay(self, date, amount):
        """The customer promises to pay ``amount`` (for all of self) by
        ``date``: the enrollments pause until then. Past that date unpaid,
        the engine logs the broken promise and runs the next stage."""
        self._check_open()
        date = fields.Date.to_date(date) if date else False
        self._check_promise_policy(date, amount)
        total = sum(self.mapped("amount_residual"))
        currency = self[:1].currency_id
        for enrollment in self._in_desk_lang():
            share = currency.round(amount * enrollment.amount_residual / total)
            enrollment.action_pause(
                reason="promise",
                until=date,
                amount=share,
                note=enrollment.env._("%(amount)s promised", amount=enrollment.currency_id.format(share)),
            )
        self._send_customer_confirmation("collections_automation.mail_template_promise_confirmation")
        return True

    def _filter_allowing(self, field_name):
        """The one rule of whether a customer's action is open on a request:
        its own process allows it (``allow_promise``, ``allow_dispute``)."""
        return self.filtered(lambda enrollment: enrollment.process_id[field_name])

    def _filter_open_to_customer(self, field_name):
        """The requests on which the customer may act from the page: their
        process allows it (``_filter_allowing``) and they are not under
        dispute, which is with the team until it is resolved."""
        return self._filter_allowing(field_name).filtered(
            lambda enrollment: enrollment.pause_reason != "dispute"
        )

    def _check_process_allows(self, field_name, message):
        """Refuse the customer's action when the process of any of these
        requests forbids it; ``message`` names them with ``%(requests)s``."""
        forbidding = self - self._filter_allowing(field_name)
        if forbidding:
            raise UserError(
                message % {"requests": ", ".join(forbidding.mapped(lambda e: e.move_id.name or e.name))}
            )

    def _get_promise_min_amount(self):
        """The least a promise for all of self may cover, by each process's share."""
        currency = self[:1].currency_id
        return sum(currency.round(e.amount_residual * e.process_id.promise_min_share / 100) for e in self)

    def _check_promise_policy(self, date, amount):
        """Each enrollment's own process decides: whether it takes promises,
        by which date, for which share of the amount due, how many times;
        and an open promise can only get better (sooner, or more)."""
        self._check_process_allows("allow_promise", self.env._("%(requests)s does not take promises to pay."))
        self._check_promise_date(date)
        self._check_promise_amount(amount)
        self._check_open_promise(date, amount)
        self._check_promise_count()

    def _get_promise_window(self):
        """(first day, last day) a promise covering all of these requests
        may name, each process's limits applied; (False, False) for none."""
        limits = [enrollment._get_promise_date_limits() for enrollment in self]
        if not limits:
            return False, False
        return max(limit[0] for limit in limits), min(limit[1] for limit in limits)

    def _check_promise_date(self, date):
        first, last = self._get_promise_window()
        if not date or not first <= date <= last:
            raise ValidationError(
                self.env._("Choose a date between %(first)s and %(last)s.", first=first, last=last)
            )

    def _check_promise_amount(self, amount):
        """More than zero, at most what is due, at least the processes'
        share of it."""
        currency = self[:1].currency_id
        total = sum(self.mapped("amount_residual"))
        if (
            not isinstance(amount, (int, float))
            or not math.isfinite(amount)
            # Plain floats first: rounding a huge number to cents overflows.
            or amount <= 0
            or amount - total >= currency.rounding
            or currency.compare_amounts(amount, 0.0) <= 0
            or currency.compare_amounts(amount, total) > 0
        ):
            raise ValidationError(
                self.env._(
                    "The promised amount must be more than zero and at most %(total)s.",
                    total=currency.format(total),
                )
            )
        required = self._get_promise_min_amount()
        if currency.compare_amounts(amount, required) < 0:
            raise ValidationError(
                self.env._("A promise must cover at least %(amount)s.", amount=currency.format(required))
            )

    def _check_open_promise(self, date, amount):
        """An open promise can only get better: sooner, or more."""
        promised = self.filtered(lambda e: e.pause_reason == "promise" and e.pause_until)
        if not promised:
            return
        open_date = min(promised.mapped("pause_until"))
        open_amount = sum(promised.mapped("promise_amount"))
        if date > open_date:
            raise ValidationError(
                self.env._(
                    "You already promised to pay by %(date)s: a new promise cannot be later than that.",
                    date=format_date(self.env, open_date),
                )
            )
        currency = self[:1].currency_id
        if currency.compare_amounts(amount, open_amount) < 0:
            raise ValidationError(
                self.env._(
                    "You already promised %(amount)s: a new promise cannot be for less than that.",
                    amount=currency.format(open_amount),
                )
            )

    def _check_promise_count(self):
        counts = dict(
            self.env["collection.event"]
            .sudo()
            ._read_group(
                [("enrollment_id", "in", self.ids), ("action", "=", "promise")],
                groupby=["enrollment_id"],
                aggregates=["__count"],
            )
        )
        exhausted = self.filtered(lambda e: counts.get(e, 0) >= e.process_id.promise_max_count)
        if exhausted:
            raise ValidationError(
                self.env._(
                    "%(requests)s took at most %(count)s promises to pay already: please pay, or contact us.",
                    requests=", ".join(exhausted.mapped(lambda e: e.move_id.name or e.name)),
                    count=exhausted[0].process_id.promise_max_count,
                )
            )

    def _send_customer_confirmation(self, template_xmlid):
        """Email the customer, from the first enrollment, a confirmation
        covering all of self."""
        first = self[:1].with_context(collection_group_ids=self.ids)
        first.message_post_with_source(self.env.ref(template_xmlid), subtype_xmlid="mail.mt_comment")

    def action_dispute(self, reason, message, author=None):
        """The customer disputes what is owed: the enrollments pause, the
        message lands in their chatter as the customer's, and the
        responsible gets an activity."""
        self._check_open()
        first = self[:1]
        self._check_process_allows(
            "allow_dispute", self.env._("%(requests)s cannot be disputed online: please contact us.")
        )
        labels = dict(self._fields["dispute_reason"]._description_selection(self.env))
        if reason not in labels:
            raise ValidationError(self.env._("Choose the reason of your dispute."))
        message = (message or "").strip()
        if not message:
            raise ValidationError(self.env._("Tell us what is wrong, so that we can sort it out."))
        if len(message) > DISPUTE_MESSAGE_MAX_LENGTH:
            raise ValidationError(
                self.env._(
                    "Your message is too long (%(max)s characters at most).", max=DISPUTE_MESSAGE_MAX_LENGTH
                )
            )
        desk = self._in_desk_lang()
        desk.action_pause(
            reason="dispute",
            note=dict(self._fields["dispute_reason"]._description_selection(desk.env))[reason],
        )
        self.write({"dispute_reason": reason})
        author = author or first.partner_id
        for enrollment in self:
            enrollment.message_post(
                body=plaintext2html(message),
                author_id=author.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        responsible = first.process_id._get_responsible_user(first)
        # The activity is read by the responsible: in their language.
        in_their_lang = first.with_context(lang=responsible.lang or desk.env.lang)
        their_labels = dict(self._fields["dispute_reason"]._description_selection(in_their_lang.env))
        in_their_lang.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=in_their_lang.env._("Dispute: %(reason)s", reason=their_labels[reason]),
            note=plaintext2html(
                in_their_lang.env._(
                    "%(customer)s disputes %(documents)s:\n%(message)s",
                    customer=author.display_name,
                    documents=", ".join(self.move_id.mapped("name") or self.mapped("name")),
                    message=message,
                )
            ),
            user_id=responsible.id,
            date_deadline=first._company_today(),
        )
        self._send_customer_confirmation("collections_automation.mail_template_dispute_received")
        return True

    def action_open_dispute_resolution(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "collections_automation.collection_dispute_resolution_action"
        )
        action["context"] = {"default_enrollment_id": self.id}
        return action

    def action_resolve_dispute(self, outcome, note=False, credit_note=None):
        """The back office resolves the customer's dispute: the reminders
        resume (after a credit note, for what is still due), or the amount is
        written off. The outcome is logged and the customer is told."""
        not_disputed = self.filtered(lambda e: e.pause_reason != "dispute" or e.state not in OPEN_STATES)
        if not_disputed:
            raise UserError(
                self.env._("%(names)s is not disputed.", names=", ".join(not_disputed.mapped("name")))
            )
        labels = dict(self._fields["dispute_outcome"]._description_selection(self.env))
        if outcome not in labels:
            raise UserError(self.env._("Choose how the dispute is resolved."))
        if outcome == "credit_note":
            self._apply_credit_note(credit_note)
        note = (note or "").strip()
        self.write({"dispute_outcome": outcome, "dispute_resolution_note": note})
        for enrollment in self:
            message = self.env._(
                "Dispute resolved by %(user)s: %(outcome)s.", user=self.env.user.name, outcome=labels[outcome]
            )
            if credit_note:
                message = f"{message} {credit_note.display_name}"
            if note:
                message = f"{message} {note}"
            enrollment._log_event("dispute_resolved", message=message, amount=enrollment.amount_residual)
        still_open = self.filtered(lambda e: e.state in OPEN_STATES)
        if outcome == "write_off":
            still_open._close(
                "written_off",
                self.env._("Written off by %(user)s after a dispute.", user=self.env.user.name),
            )
        else:
            still_open.action_resume()
        self._send_customer_confirmation("collections_automation.mail_template_dispute_resolved")
        return True

    def _apply_credit_note(self, credit_note):
        """Reconcile a posted credit note of the customer with the disputed
        invoices, oldest first: the collection goes on for what is left."""
        if not credit_note:
            raise UserError(self.env._("Choose the credit note that settles the dispute."))
        partner = self[:1].partner_id.commercial_partner_id
        if (
            credit_note.move_type != "out_refund"
            or credit_note.state != "posted"
            or credit_note.commercial_partner_id != partner
        ):
            raise UserError(
                self.env._(
                    "%(credit_note)s is not a posted credit note of %(customer)s.",
                    credit_note=credit_note.display_name,
                    customer=partner.display_name,
                )
            )
        for invoice in self.move_id.sorted(lambda move: (move.invoice_date_due, move.id)):
            credit_line = credit_note.line_ids.filtered(
                lambda line: line.account_type == "asset_receivable" and not line.reconciled
            )[:1]
            if not credit_line:
                break
            invoice.js_assign_outstanding_line(credit_line.id)
