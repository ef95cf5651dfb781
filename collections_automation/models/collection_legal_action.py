from datetime import timedelta

from odoo import api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import html2plaintext
from odoo.tools.pdf import merge_pdf

MANAGER_GROUP = "collections_automation.collections_automation_group_manager"
# The demand letter of a customer's country: its law's name for it.
DEMAND_LETTER_VARIANTS = {"GB": "gb", "FR": "fr", "DE": "de"}
# The events that are a contact with the customer, and their channel.
CONTACT_ACTIONS = ("email", "letter", "sms", "activity", "payment_retry", "late_charge")
PROMISE_AND_DISPUTE_ACTIONS = ("promise", "promise_kept", "promise_broken", "dispute", "dispute_resolved")


class CollectionLegalAction(models.AbstractModel):
    """Escalation to legal action. It waits for a Collections
    administrator's approval (an activity each, an approve and a refuse
    button); approved, the demand letter of the customer's country and the
    evidence pack (one PDF: summary, invoices, every contact, promises and
    disputes, payments, the interest day by day) are attached to the
    collection."""

    _name = "collection.legal.action"
    _description = "Collection Legal Action"

    # ------------------------------------------------------------------
    # Approval
    # ------------------------------------------------------------------

    @api.model
    def _request_approval(self, enrollments):
        """Ask the Collections administrators to approve legal action for
        ``enrollments`` (escalated by a process that sends to legal)."""
        enrollments = enrollments.filtered(lambda e: not e.legal_state)
        if not enrollments:
            return
        enrollments.write({"legal_state": "to_approve"})
        activity_type = self.env.ref("collections_automation.mail_activity_type_legal_approval")
        values = []
        for company, company_enrollments in enrollments.grouped("company_id").items():
            approvers = self._get_approvers(company)
            values += [
                {
                    "res_model_id": self.env["ir.model"]._get_id(enrollment._name),
                    "res_id": enrollment.id,
                    "automated": True,
                    "activity_type_id": activity_type.id,
                    "summary": self.env._(
                        "Approve legal action: %(amount)s due", amount=enrollment._format_amount()
                    ),
                    "user_id": approver.id,
                    "date_deadline": enrollment._company_today(),
                }
                for enrollment in company_enrollments
                for approver in approvers
            ]
        self.env["mail.activity"].with_context(mail_activity_quick_update=True).create(values)
        self.env["collection.event"].sudo().create(
            [
                enrollment._prepare_event_values(
                    "legal_request", message=self.env._("Legal action waits for an administrator's approval.")
                )
                for enrollment in enrollments
            ]
        )

    @api.model
    def _get_approvers(self, company):
        """The Collections administrators of ``company`` (people, not the
        system's own users)."""
        system = self.env.ref("base.user_root")
        return self.env.ref(MANAGER_GROUP).all_user_ids.filtered(
            lambda user: user != system and not user.share and company in user.company_ids
        )

    @api.model
    def _check_approver(self):
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only a Collections administrator approves or refuses legal action.")
            )

    @api.model
    def _approve(self, enrollments):
        self._check_approver()
        self._check_pending(enrollments)
        for enrollment in enrollments:
            attachments = self._make_documents(enrollment)
            enrollment.write({"legal_state": "sent", "legal_sent_on": enrollment._company_today()})
            enrollment._log_event(
                "legal",
                key=f"{enrollment.id}:legal",
                amount=enrollment.amount_residual,
                message=self.env._("Sent to legal, approved by %(user)s.", user=self.env.user.name),
            )
            enrollment.message_post(
                body=self.env._(
                    "Legal action approved by %(user)s: demand letter and evidence pack attached.",
                    user=self.env.user.name,
                ),
                attachment_ids=attachments.ids,
            )
        self._close_approval_activities(enrollments)

    @api.model
    def _refuse(self, enrollments, reason):
        self._check_approver()
        self._check_pending(enrollments)
        enrollments.write({"legal_state": "refused"})
        for enrollment in enrollments:
            enrollment._log_event(
                "legal_refused",
                outcome="skipped",
                message=self.env._(
                    "Legal action refused by %(user)s: %(reason)s", user=self.env.user.name, reason=reason
                ),
            )
        self._close_approval_activities(enrollments)

    @api.model
    def _check_pending(self, enrollments):
        if not enrollments or any(e.legal_state != "to_approve" for e in enrollments):
            raise UserError(
                self.env._("Only a legal action waiting for approval can be approved or refused.")
            )

    @api.model
    def _close_approval_activities(self, enrollments):
        approval = self.env.ref("collections_automation.mail_activity_type_legal_approval")
        activities = enrollments.activity_ids.filtered(lambda activity: activity.activity_type_id == approval)
        # Every administrator's activity is done: one decision for all; the
        # others' are not this user's to close otherwise.
        activities.sudo().action_feedback(feedback=self.env._("Decided by %(user)s", user=self.env.user.name))

    # ------------------------------------------------------------------
    # Documents
    # ------------------------------------------------------------------

    @api.model
    def _make_documents(self, enrollment):
        """The demand letter and the evidence pack, attached to ``enrollment``."""
        name = enrollment.name.replace("/", "-")
        documents = [
            (
                f"{name}-demand-letter.pdf",
                self._render_report("collections_automation.collection_demand_letter_report", enrollment),
            ),
            (f"{name}-evidence-pack.pdf", self._render_evidence_pack(enrollment)),
        ]
        return self.env["ir.attachment"].create(
            [
                {
                    "name": file_name,
                    "raw": pdf,
                    "mimetype": "application/pdf",
                    "res_model": enrollment._name,
                    "res_id": enrollment.id,
                }
                for file_name, pdf in documents
            ]
        )

    @api.model
    def _render_report(self, xmlid, records):
        # Documents that go out, merged: always PDF (Odoo renders HTML
        # instead when it runs its tests).
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(xmlid, records.ids)
        )
        return pdf

    @api.model
    def _render_evidence_pack(self, enrollment):
        """The evidence report followed by the invoice itself, as one PDF."""
        pack = self._render_report("collections_automation.collection_evidence_pack_report", enrollment)
        if not enrollment.move_id:
            return pack
        return merge_pdf([pack, self._render_report("account.account_invoices", enrollment.move_id)])

    @api.model
    def _get_report_values(self, docids, **values_of):
        """A report's values: its collections, and for each name of
        ``values_of`` a dict {collection id: the function's value for it}."""
        docs = self.env["collection.enrollment"].browse(docids)
        return {
            "doc_ids": docids,
            "doc_model": docs._name,
            "docs": docs,
            **{name: {doc.id: function(doc) for doc in docs} for name, function in values_of.items()},
        }

    @api.model
    def _get_demand_letter_variant(self, enrollment):
        return DEMAND_LETTER_VARIANTS.get(
            enrollment.partner_id.commercial_partner_id.country_id.code, "generic"
        )

    @api.model
    def _prepare_claim(self, enrollment):
        """What the demand letter claims: the amount due, the interest and
        compensation not charged yet, and the deadline."""
        rule = enrollment._get_late_charge_rule()
        invoice = enrollment.move_id
        today = enrollment._company_today()
        interest = compensation = 0.0
        periods = []
        if rule and invoice and rule._applies_to(invoice):
            charged = rule._get_charged_amounts(invoice)
            interest, periods = rule._compute_interest(invoice, today)
            interest = max(
                invoice.currency_id.round(interest - charged.get((invoice.id, "interest"), 0.0)), 0.0
            )
            if not charged.get((invoice.id, "compensation")):
                compensation = rule._compute_compensation(invoice, today)
        deadline = today + timedelta(days=enrollment.process_id.legal_deadline_days)
        return {
            "rule": rule,
            "amount_due": enrollment.amount_residual,
            "interest": interest,
            "compensation": compensation,
            "total": enrollment.amount_residual + interest + compensation,
            "periods": periods,
            "deadline": deadline,
            "today": today,
        }

    @api.model
    def _prepare_evidence(self, enrollment):
        """Every section of the evidence pack, oldest first."""
        events = enrollment.event_ids.sorted(lambda e: (e.date, e.id))
        channels = dict(self.env["collection.event"]._fields["action"]._description_selection(self.env))
        contacts = [
            {
                "date": event.date,
                "channel": channels[event.action],
                "stage": event.stage_id.name or "",
                "subject": event.mail_message_id.subject or event.message or "",
                "text": html2plaintext(event.mail_message_id.body or "") if event.mail_message_id else "",
                "outcome": event.outcome,
            }
            for event in events
            if event.action in CONTACT_ACTIONS
        ]
        contacts += self._get_customer_messages(enrollment)
        contacts.sort(key=lambda contact: contact["date"])
        promises = [
            {
                "date": event.date,
                "what": channels[event.action],
                "amount": event.amount,
                "message": event.message or "",
            }
            for event in events
            if event.action in PROMISE_AND_DISPUTE_ACTIONS
        ]
        return {
            "contacts": contacts,
            "promises": promises,
            "payments": self._get_payments(enrollment),
            "claim": self._prepare_claim(enrollment),
        }

    @api.model
    def _get_customer_messages(self, enrollment):
        """What the customer wrote (a dispute's message, a reply)."""
        customer = enrollment.partner_id.commercial_partner_id
        messages = enrollment.message_ids.filtered(
            lambda message: message.message_type in ("comment", "email")
            and message.author_id.commercial_partner_id == customer
        )
        return [
            {
                "date": message.date,
                "channel": self.env._("From the customer"),
                "stage": "",
                "subject": message.subject or "",
                "text": html2plaintext(message.body or ""),
                "outcome": "done",
            }
            for message in messages
        ]

    @api.model
    def _get_payments(self, enrollment):
        """The payments and credit notes on the invoice and its charges."""
        moves = enrollment.move_id | enrollment.late_charge_move_ids.filtered(
            lambda move: move.state == "posted"
        )
        payments = []
        for move in moves:
            for line in move.line_ids.filtered(lambda line: line.account_type == "asset_receivable"):
                payments += [
                    {
                        "date": partial.credit_move_id.date,
                        "document": partial.credit_move_id.move_id.name,
                        "paid": move.name,
                        "amount": partial.debit_amount_currency,
                    }
                    for partial in line.matched_credit_ids
                ]
        return sorted(payments, key=lambda payment: payment["date"])

    @api.model
    def _get_daily_interest(self, period):
        """The interest of one day of a period, unrounded."""
        _first, _last, _days, base, rate, in_year = period
        return base * rate / 100 / in_year
