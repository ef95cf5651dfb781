from odoo import api, fields, models


class CollectionStageActionEscalation(models.AbstractModel):
    """The process's escalation, once per collection: an activity for the
    responsible, tags and trust on the customer. It runs at a stage that
    escalates (later stages still run), or at the end of the ladder (no
    stage), when no stage ran it before."""

    _name = "collection.stage.action.escalation"
    _inherit = "collection.stage.action"
    _description = "Collection Stage Action: Escalation"
    _action = "escalation"

    @api.model
    def _applies(self, stage):
        return stage.escalate

    @api.model
    def _get_key(self, enrollment, stage):
        if stage:
            return super()._get_key(enrollment, stage)
        return f"{enrollment.id}:end:{enrollment.stage_cycle or 0}:escalation"

    @api.model
    def _escalate(self, groups):
        """The one way into escalation, for the engine and the demo:
        ``groups`` of (stage, enrollments). With a stage that escalates: the
        stage is over and escalates (the later stages still run). Without a
        stage: the ladder is done and money is still due."""
        self.run([(stage, group) for stage, group in groups if stage])
        ladder_done = self.env["collection.enrollment"].union(
            *(group for stage, group in groups if not stage)
        )
        if ladder_done:
            self._escalate_at_ladder_end(ladder_done)

    @api.model
    def _escalate_at_ladder_end(self, enrollments):
        """No more reminders: the escalation runs (unless a stage ran it
        already), and the customer can still pay, promise and dispute from
        the page."""
        already = enrollments.filtered("escalated_on")
        no_stage = self.env["collection.stage"]
        self._run([(no_stage, enrollments - already)])
        messages = {}
        for enrollment in enrollments:
            if enrollment in already:
                messages[enrollment.id] = self.env._(
                    "The last stage ran: no more reminders, %(amount)s still due.",
                    amount=enrollment._format_amount(),
                )
            else:
                messages[enrollment.id] = self._get_escalated_message(enrollment)
        if already:
            self._claim(
                [(no_stage, enrollment) for enrollment in already],
                [
                    {"amount": enrollment.amount_residual, "message": messages[enrollment.id]}
                    for enrollment in already
                ],
            )
        self.env["collection.mail.batch"]._write_and_log(
            enrollments, {"state": "escalated", "next_stage_id": False, "next_action_date": False}, messages
        )

    @api.model
    def _run(self, groups):
        # Paid by this stage's retry, or waiting for a new attempt of it:
        # the stage is not over.
        pending = [
            (stage, enrollment)
            for stage, group in groups
            for enrollment in group.filtered(
                lambda e: not e.escalated_on and e.state == "running" and not e.retry_next_date
            )
        ]
        if not pending:
            return
        self._claim(
            pending,
            [
                {"amount": enrollment.amount_residual, "message": self._get_escalated_message(enrollment)}
                for _stage, enrollment in pending
            ],
        )
        self._run_escalation(self.env["collection.enrollment"].union(*(e for _stage, e in pending)))

    @api.model
    def _get_escalated_message(self, enrollment):
        return self.env._("Escalated with %(amount)s due.", amount=enrollment._format_amount())

    @api.model
    def _run_escalation(self, enrollments):
        """The effect for all ``enrollments`` at once, process by process:
        a run may escalate thousands."""
        activities = self.env["mail.activity"]
        for process, process_enrollments in enrollments.grouped("process_id").items():
            partners = process_enrollments.partner_id.commercial_partner_id
            if process.escalation_tag_ids:
                # Tags and trust are the customer's, which a collections user
                # may not edit; the escalation was configured by an
                # administrator.
                partners.sudo().write(
                    {"category_id": [fields.Command.link(tag.id) for tag in process.escalation_tag_ids]}
                )
            if process.escalation_set_bad_debtor:
                for company, company_enrollments in process_enrollments.grouped("company_id").items():
                    company_enrollments.partner_id.commercial_partner_id.sudo().with_company(company).write(
                        {"trust": "bad"}
                    )
            if process.escalation_activity_type_id:
                # Not one "assigned to you" per activity: a batch may escalate
                # hundreds for one person, who gets one message (below).
                activities |= (
                    self.env["mail.activity"]
                    .with_context(mail_activity_quick_update=True)
                    .create(
                        [
                            self._prepare_activity_values(process, enrollment)
                            for enrollment in process_enrollments
                        ]
                    )
                )
        for today, escalated_today in enrollments.grouped(lambda e: e._company_today()).items():
            escalated_today.write({"escalated_on": today})
        self._notify_responsibles(activities)
        self.env["collection.legal.action"]._request_approval(
            enrollments.filtered(lambda enrollment: enrollment.process_id.escalation_legal)
        )

    @api.model
    def _notify_responsibles(self, activities):
        """One message per responsible for the escalation activities of the
        batch, by email or in Odoo as they chose: which collections, with
        links."""
        for user, user_activities in activities.grouped("user_id").items():
            if not user or user == self.env.user:
                continue
            enrollments = self.env["collection.enrollment"].browse(user_activities.mapped("res_id"))
            self.env["mail.thread"].with_context(lang=user.lang).message_notify(
                **self._prepare_responsible_message(user, enrollments.with_context(lang=user.lang))
            )

    @api.model
    def _prepare_responsible_message(self, user, enrollments):
        env = enrollments.env
        body = env["ir.qweb"]._render(
            "collections_automation.collection_escalation_message",
            {"enrollments": enrollments, "base_url": enrollments[:1].get_base_url()},
        )
        return {
            "partner_ids": user.partner_id.ids,
            "subject": env._("%(count)s collection(s) escalated to you", count=len(enrollments)),
            "body": body,
            "email_layout_xmlid": "mail.mail_notification_light",
        }

    @api.model
    def _prepare_activity_values(self, process, enrollment):
        """As ``activity_schedule`` would, with this collection's amount in
        the summary: the activities of a run are created together."""
        return {
            "res_model_id": self.env["ir.model"]._get_id(enrollment._name),
            "res_id": enrollment.id,
            "automated": True,
            "activity_type_id": process.escalation_activity_type_id.id,
            "summary": self.env._("Escalated: %(amount)s still due", amount=enrollment._format_amount()),
            "note": process.escalation_activity_type_id.default_note,
            "user_id": process._get_responsible_user(enrollment).id,
            "date_deadline": enrollment._company_today(),
        }
