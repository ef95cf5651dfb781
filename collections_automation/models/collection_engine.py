import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, split_every

from .collection_enrollment import OPEN_STATES

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
BACKOFF_BASE_MINUTES = 15
BACKOFF_MAX_MINUTES = 24 * 60


class CollectionEngine(models.AbstractModel):
    """Runs the collection processes: the scheduled action
    ``ir_cron_collection_engine`` calls ``_cron_run``.

    Safe with several workers: each batch is taken with ``FOR UPDATE SKIP
    LOCKED``, so two workers never hold the same enrollment, and each stage
    action writes a unique key (a ``collection.event``) in the transaction
    of its effect, so a crash and a rerun never repeat it."""

    _name = "collection.engine"
    _description = "Collection Engine"

    @api.model
    def _get_batch_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param("collections_automation.batch_size")
        return int(param or DEFAULT_BATCH_SIZE)

    @api.model
    def _cron_run(self, limit=None):
        """Enroll what the triggers ask for, end expired pauses, then run
        every stage action due today, batch after batch."""
        limit = limit or self._get_batch_size()
        in_cron = bool(self.env.context.get("cron_id"))
        self._auto_enroll()
        self._end_expired_pauses()
        while batch := self._take_due_batch(limit):
            self._run_batch(batch)
            if in_cron:
                remaining = self.env["collection.enrollment"].search_count(self._get_due_domain())
                if not self.env["ir.cron"]._commit_progress(len(batch), remaining=remaining):
                    break
            else:
                self.env.flush_all()

    # ------------------------------------------------------------------
    # Taking work
    # ------------------------------------------------------------------

    @api.model
    def _get_today(self):
        return fields.Date.context_today(self)

    @api.model
    def _get_due_domain(self):
        Enrollment = self.env["collection.enrollment"]
        # The latest time zone on earth is 14 hours ahead of UTC: an
        # enrollment is a candidate when its date may have come in its
        # company; the exact company day is checked per enrollment.
        horizon = fields.Date.context_today(self.with_context(tz="Pacific/Kiritimati"))
        return Enrollment._get_due_domain(horizon) & (
            Domain("retry_after", "=", False) | Domain("retry_after", "<=", fields.Datetime.now())
        )

    @api.model
    def _take_due_batch(self, limit):
        """Lock and return up to ``limit`` due enrollments that no other
        worker holds."""
        Enrollment = self.env["collection.enrollment"]
        query = Enrollment._search(self._get_due_domain(), order="next_action_date, id", limit=limit)
        self.env.flush_all()
        rows = self.env.execute_query(SQL("%s FOR UPDATE SKIP LOCKED", query.select()))
        enrollments = Enrollment.browse(row[0] for row in rows)
        # Another worker may have run these rows and committed between our
        # query plan and the lock: read them again.
        enrollments.invalidate_recordset()
        return enrollments.filtered(
            lambda e: e.state == "running" and e.next_action_date and e.next_action_date <= e._company_today()
        )

    # ------------------------------------------------------------------
    # Running a batch
    # ------------------------------------------------------------------

    @api.model
    def _group_batch(self, enrollments):
        """[(stage, enrollments)] to run together: one enrollment each, or
        all of one customer's enrollments at the same stage when the
        process consolidates messages."""
        groups = defaultdict(lambda: self.env["collection.enrollment"])
        for enrollment in enrollments:
            if enrollment.process_id.consolidate:
                key = (enrollment.next_stage_id, enrollment.process_id, enrollment.partner_id)
            else:
                key = (enrollment.next_stage_id, enrollment)
            groups[key] |= enrollment
        return [(key[0], group) for key, group in groups.items()]

    @api.model
    def _run_batch(self, enrollments):
        groups = self._group_batch(enrollments)
        rendered = self._prerender_emails(groups)
        for stage, group in groups:
            try:
                with self.env.cr.savepoint():
                    self._run_stage(stage, group, rendered)
            except UniqueViolation:
                # Another run already did this action: the key held.
                _logger.warning("collections: stage %s already ran for %s", stage.id, group.ids)
                self.env.invalidate_all()
            except Exception as error:
                _logger.exception("collections: stage %s failed for enrollments %s", stage.id, group.ids)
                self.env.invalidate_all()
                self._record_failure(group, stage, error)

    @api.model
    def _prerender_emails(self, groups):
        """Render the email templates of the batch, one call per template,
        so that a batch costs a few queries per action, not a few per
        record. Returns {(template, enrollment id): values}."""
        by_template = defaultdict(list)
        for stage, group in groups:
            if stage.send_email and stage.mail_template_id and len(group) == 1:
                by_template[stage.mail_template_id].append(group.id)
        rendered = {}
        for template, res_ids in by_template.items():
            try:
                values = template._generate_template(
                    res_ids,
                    ("subject", "body_html", "email_from", "reply_to", "partner_to", "email_cc", "email_to"),
                )
            except Exception:  # noqa: BLE001 -- the stage renders each record alone and isolates the culprit
                _logger.warning("collections: batch rendering of %s failed", template.id, exc_info=True)
                continue
            rendered.update({(template, res_id): values[res_id] for res_id in res_ids})
        return rendered

    @api.model
    def _run_stage(self, stage, group, rendered):
        lead = group[0]
        if stage.send_email:
            self._send_email(stage, group, rendered.get((stage.mail_template_id, lead.id)))
        elif stage.attach_letter:
            self._post_letter(stage, group)
        if stage.send_sms:
            self._send_sms(stage, group)
        if stage.create_activity:
            self._schedule_activity(stage, group)
        if stage.retry_payment:
            for enrollment in group:
                enrollment._collection_retry_payment(stage)
        self._advance(stage, group)

    @api.model
    def _claim(self, stage, group, action, **values):
        """Write the once-only events of ``action`` before its effect: a
        second attempt fails here, before anything is sent."""
        events = (
            self.env["collection.event"]
            .sudo()
            .create(
                [
                    enrollment._prepare_event_values(
                        action, stage=stage, key=enrollment._action_key(stage, action), **values
                    )
                    for enrollment in group
                ]
            )
        )
        events.flush_recordset()
        return events

    @api.model
    def _send_email(self, stage, group, prerendered):
        events = self._claim(stage, group, "email")
        lead = group[0].with_context(collection_group_ids=group.ids)
        template = stage.mail_template_id
        values = (
            prerendered
            or template._generate_template(
                lead.ids,
                ("subject", "body_html", "email_from", "reply_to", "partner_to", "email_cc", "email_to"),
            )[lead.id]
        )
        process = lead.process_id
        attachments = self._render_letter(stage, group) if stage.attach_letter else []
        partner_ids = values.get("partner_ids") or lead.partner_id.ids
        message = lead.message_post(
            subject=values.get("subject"),
            body=values.get("body_html") or "",
            partner_ids=partner_ids,
            email_from=process.email_from or values.get("email_from") or None,
            reply_to=process.reply_to or values.get("reply_to") or None,
            subtype_xmlid="collections_automation.mail_message_subtype_collection_reminder",
            message_type="comment",
            attachments=attachments,
            email_layout_xmlid="mail.mail_notification_light",
        )
        events.write({"mail_message_id": message.id, "outcome": "done"})
        for other in group[1:]:
            other.message_post(
                body=self.env._("Reminder sent with %(lead)s (one email for the customer).", lead=lead.name),
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _render_letter(self, stage, group):
        report = self.env.ref("collections_automation.collection_letter_report")
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(collection_group_ids=group.ids)
            ._render_qweb_pdf(report, group[:1].ids)
        )
        return [(f"{group[0].name.replace('/', '-')}-{stage.name}.pdf", pdf)]

    @api.model
    def _post_letter(self, stage, group):
        events = self._claim(stage, group, "letter")
        message = group[0].message_post(
            body=self.env._("Collection letter for stage %(stage)s.", stage=stage.name),
            attachments=self._render_letter(stage, group),
            subtype_xmlid="mail.mt_note",
        )
        events.write({"mail_message_id": message.id})

    @api.model
    def _send_sms(self, stage, group):
        events = self._claim(stage, group, "sms")
        lead = group[0].with_context(collection_group_ids=group.ids)
        messages = lead._message_sms_with_template(
            template=stage.sms_template_id, partner_ids=lead.partner_id.ids, put_in_queue=True
        )
        events.write({"mail_message_id": messages[:1].id})

    @api.model
    def _schedule_activity(self, stage, group):
        self._claim(stage, group, "activity")
        lead = group[0]
        user = stage.activity_user_id or lead.process_id._get_responsible_user(lead)
        lead.activity_schedule(
            activity_type_id=(stage.activity_type_id or self.env.ref("mail.mail_activity_data_call")).id,
            summary=stage.activity_summary or stage.name,
            note=self.env._(
                "%(count)s invoice(s), %(amount)s due.",
                count=len(group),
                amount=", ".join(e._format_amount() for e in group),
            ),
            user_id=user.id,
            date_deadline=lead._company_today() + timedelta(days=stage.activity_deadline_days),
        )

    @api.model
    def _advance(self, stage, group):
        """After ``stage`` ran: plan the next stage, or escalate when the
        ladder is done and money is still due."""
        for enrollment in group:
            if enrollment.state != "running":
                continue  # paid by a payment retry, for instance
            enrollment.write(
                {
                    "stage_id": stage.id,
                    "last_action_date": enrollment._company_today(),
                    "failure_count": 0,
                    "last_error": False,
                    "retry_after": False,
                }
            )
            enrollment._schedule_from(stage)
            if stage.escalate or not enrollment.next_stage_id:
                enrollment._escalate(stage)

    @api.model
    def _record_failure(self, group, stage, error):
        """Keep the error on the enrollments and try again later, waiting
        longer after each failure."""
        now = fields.Datetime.now()
        for enrollment in group:
            failures = enrollment.failure_count + 1
            wait = min(BACKOFF_BASE_MINUTES * 2 ** (failures - 1), BACKOFF_MAX_MINUTES)
            enrollment.write(
                {
                    "failure_count": failures,
                    "last_error": str(error),
                    "retry_after": now + timedelta(minutes=wait),
                }
            )
            enrollment._log_event(
                "error",
                stage=stage,
                outcome="failed",
                attempt=failures,
                message=self.env._(
                    "%(error)s. Next attempt after %(date)s.", error=error, date=enrollment.retry_after
                ),
            )

    # ------------------------------------------------------------------
    # Triggers and pauses
    # ------------------------------------------------------------------

    @api.model
    def _get_auto_enroll_domain(self, company, processes, today):
        overdue = processes.filtered("auto_enroll_overdue")
        pre_due = processes.filtered("auto_enroll_pre_due")
        date_domain = Domain.FALSE
        if overdue:
            date_domain |= Domain(
                "invoice_date_due", "<", today - timedelta(days=min(overdue.mapped("grace_days")))
            )
        if pre_due:
            date_domain |= Domain(
                "invoice_date_due", "<=", today + timedelta(days=max(pre_due.mapped("pre_due_days")))
            )
        return (
            Domain(
                [
                    ("company_id", "=", company.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("no_followup", "=", False),
                    ("commercial_partner_id.collection_hold", "!=", True),
                    ("collection_enrollment_ids", "not any", [("state", "in", OPEN_STATES)]),
                ]
            )
            & date_domain
        )

    @api.model
    def _trigger_fits(self, process, invoice, today):
        due = invoice.invoice_date_due
        if process.auto_enroll_overdue and due < today - timedelta(days=process.grace_days):
            return True
        return bool(process.auto_enroll_pre_due and due <= today + timedelta(days=process.pre_due_days))

    @api.model
    def _auto_enroll(self):
        """Enroll the invoices that the triggers of active processes ask for:
        overdue past the grace period, or close to their due date."""
        processes = self.env["collection.process"].search(
            ["|", ("auto_enroll_overdue", "=", True), ("auto_enroll_pre_due", "=", True)]
        )
        Rule = self.env["collection.segment.rule"]
        for company in processes.company_id:
            company_processes = processes.filtered(lambda p, c=company: p.company_id == c)
            today = self.env["collection.enrollment"]._get_company_today(company)
            domain = self._get_auto_enroll_domain(company, company_processes, today)
            invoice_ids = (
                self.env["account.move"].with_company(company)._search(domain, order="invoice_date_due, id")
            )
            for chunk in split_every(1000, list(invoice_ids)):
                invoices = self.env["account.move"].browse(chunk)
                choices = Rule._find_process_for_invoices(invoices)
                values = [
                    invoice._prepare_collection_enrollment_values(process, rule)
                    for invoice, (process, rule) in choices.items()
                    if process in company_processes and self._trigger_fits(process, invoice, today)
                ]
                self.env["collection.enrollment"].create(values)

    @api.model
    def _end_expired_pauses(self):
        """Pauses end on their date. A broken promise is logged and the
        process moves on to its next stage at once."""
        horizon = fields.Date.context_today(self.with_context(tz="Pacific/Kiritimati"))
        paused = self.env["collection.enrollment"].search(
            [("state", "=", "paused"), ("pause_until", "!=", False), ("pause_until", "<=", horizon)]
        )
        for enrollment in paused.filtered(lambda e: e.pause_until <= e._company_today()):
            if enrollment.pause_reason == "promise":
                enrollment._log_event(
                    "promise_broken",
                    outcome="failed",
                    amount=enrollment.promise_amount,
                    message=self.env._(
                        "The promise to pay by %(date)s was not kept.", date=enrollment.pause_until
                    ),
                )
                enrollment.message_post(
                    body=self.env._(
                        "The promise to pay by %(date)s was not kept.", date=enrollment.pause_until
                    )
                )
                enrollment.action_resume()
                if enrollment.next_stage_id:
                    enrollment.next_action_date = enrollment._company_today()
            else:
                enrollment.action_resume()
