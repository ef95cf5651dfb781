"""The enrollment lifecycle over long histories: what happens on the second
run, the hundredth, after a payment, an escalation, a cancellation.

Each test here reproduces a defect of wave one (it failed before its fix)."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from .common import ADDON, DAY_0, CollectionsCommon, days, load_migration


@tagged("post_install", "-at_install")
class TestLifecycle(CollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standard_process.write({"auto_enroll_overdue": True, "grace_days": 3})
        cls.env.company.collection_default_process_id = cls.standard_process

    def _walk(self, first, last):
        for offset in range(first, last + 1):
            self._run_engine(days(offset))

    def _final_notices(self, invoice):
        return self._reminders(invoice.collection_enrollment_ids).filtered(
            lambda m: "Final notice" in (m.subject or "")
        )

    def _cash_collected(self, date_from, date_to):
        total, _by_stage = self.env["collection.kpi"]._get_cash_collected(
            self.env.company, date_from, date_to
        )
        return total

    # ------------------------------------------------------------------
    # Re-enrollment policy
    # ------------------------------------------------------------------

    def test_an_escalated_invoice_is_never_enrolled_again_by_the_trigger(self):
        invoice = self._create_invoice()
        self._walk(0, 60)
        self.assertEqual(invoice.collection_enrollment_ids.mapped("state"), ["escalated"])
        self.assertEqual(len(self._final_notices(invoice)), 1, "one final notice, whatever the runs after it")

    def test_a_collection_cancelled_by_a_user_is_not_started_again_by_the_trigger(self):
        invoice = self._create_invoice()
        self._walk(0, 4)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(enrollment.state, "running")
        with self._at(days(5)):
            enrollment.action_cancel()
        self._walk(5, 40)
        self.assertEqual(invoice.collection_enrollment_ids, enrollment)
        self.assertEqual((enrollment.state, enrollment.cancel_reason), ("cancelled", "user"))

    def test_an_accountant_restarts_an_escalated_invoice_with_a_confirmation(self):
        invoice = self._create_invoice()
        self._walk(0, 45)
        escalated = invoice.collection_enrollment_ids
        self.assertEqual(escalated.state, "escalated")
        with self._at(days(46)):
            wizard = Form(self.env["collection.enroll.wizard"].with_context(default_move_ids=invoice.ids))
            self.assertIn("escalated", wizard.out_of_collections_note)
            with self.assertRaisesRegex(UserError, "Confirm to enroll it again"):
                wizard.save().action_enroll()
            wizard.reenroll = True
            wizard.save().action_enroll()
        new = invoice.collection_enrollment_ids - escalated
        self.assertEqual(new.state, "running")
        self.assertEqual((escalated.state, escalated.cancel_reason), ("cancelled", "reenrolled"))
        self.assertEqual(
            invoice.collection_enrollment_ids.filtered(
                lambda e: e.state in ("running", "paused", "escalated")
            ),
            new,
            "at most one open collection per invoice",
        )

    # ------------------------------------------------------------------
    # Escalated: closed for reminders, open for the money
    # ------------------------------------------------------------------

    def test_a_payment_after_escalation_closes_it_paid_and_counts_as_cash_collected(self):
        invoice = self._create_invoice(amount=800)
        self._walk(0, 45)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(enrollment.state, "escalated")
        with self._at(days(50)):
            self._pay(invoice, day=days(50))
        self.assertEqual(enrollment.state, "paid")
        self.assertEqual((enrollment.amount_residual, enrollment.amount_collected), (0.0, 800.0))
        self.assertEqual(enrollment.closed_on, days(50))
        self.assertEqual(self._cash_collected(days(0), days(60)), 800.0)

    def test_a_payment_on_the_day_of_a_re_enrollment_is_cash_collected_once(self):
        invoice = self._create_invoice(amount=800)
        self._walk(0, 45)
        with self._at(days(46)):
            invoice.collection_enroll(process_id=self.standard_process.id, reenroll=True)
            self._pay(invoice, amount=300, day=days(46))
        self.assertEqual(len(invoice.collection_enrollment_ids), 2)
        self.assertEqual(self._cash_collected(days(0), days(60)), 300.0)

    def test_the_collections_timeline_plans_what_the_engine_then_does(self):
        self.standard_process.auto_enroll_overdue = False
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            planned = [
                (row["stage"], row["date"])
                for row in enrollment._get_timeline_rows()
                if row["status"] == "planned"
            ]
        self.assertEqual(
            planned,
            [("Reminder", days(3)), ("Call", days(10)), ("Final notice", days(30)), ("Escalation", days(37))],
        )
        self.assertIn("Final notice", str(enrollment.timeline_html))
        self._walk(0, 40)
        ran = [
            (event.stage_id.name or "Escalation", event.date.date())
            for event in enrollment.event_ids.sorted("id")
            if event.action in ("email", "activity", "escalation")
        ]
        self.assertEqual(ran, planned)
        self.assertFalse(
            [row for row in enrollment._get_timeline_rows() if row["status"] == "planned"],
            "nothing left to plan",
        )

    def test_escalation_waits_for_the_final_notice_deadline(self):
        self.standard_process.escalation_delay_days = 7
        invoice = self._create_invoice()
        self._walk(0, 30)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(enrollment.stage_id, self.final_stage)
        self.assertEqual(enrollment.state, "running", "the final notice's 7 days have not passed")
        self.assertEqual(enrollment.next_action_date, days(37))
        self.assertFalse(enrollment.next_stage_id)
        self._walk(31, 36)
        self.assertEqual(enrollment.state, "running")
        self._walk(37, 37)
        self.assertEqual(enrollment.state, "escalated")
        self.assertEqual(enrollment.escalated_on, days(37))

    def test_a_payment_before_the_escalation_day_stops_it(self):
        invoice = self._create_invoice()
        self._walk(0, 32)
        self._pay(invoice, day=days(33))
        self._walk(33, 45)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(enrollment.state, "paid")
        self.assertFalse(enrollment.escalated_on)
        self.assertFalse(enrollment.event_ids.filtered(lambda e: e.action == "escalation"))

    def test_a_stage_that_escalates_lets_the_later_stages_run(self):
        self.call_stage.escalate = True
        invoice = self._create_invoice()
        self._walk(0, 11)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(
            enrollment.stage_id, self.call_stage, "enrolled on day 4: reminder then, call on day 11"
        )
        self.assertEqual(enrollment.escalated_on, days(11), "the call stage ran the escalation")
        self.assertEqual(enrollment.state, "running", "later stages still run")
        self.assertIn(self.escalation_tag, self.customer.category_id)
        self._walk(12, 45)
        self.assertEqual(len(self._final_notices(invoice)), 1, "the final notice still went out")
        self.assertEqual(enrollment.state, "escalated")
        escalations = enrollment.event_ids.filtered(lambda e: e.action == "escalation").sorted("id")
        self.assertEqual(escalations.stage_id, self.call_stage, "the escalation's actions ran at the call")
        self.assertEqual(len(escalations), 2, "then the end of the ladder, with no action repeated")
        escalation_activities = enrollment.activity_ids.filtered(lambda a: a.summary.startswith("Escalated"))
        self.assertEqual(len(escalation_activities), 1)

    def test_a_stage_due_the_same_day_as_the_previous_one_runs_in_the_same_run(self):
        self.call_stage.delay_days = 0
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 3)
        self.assertEqual(enrollment.stage_id, self.call_stage, "the call follows the reminder at once")
        self.assertEqual(enrollment.next_stage_id, self.final_stage)

    def test_removing_the_stage_a_collection_waits_for_moves_it_to_the_next_one(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 3)
        self.assertEqual(enrollment.next_stage_id, self.call_stage)
        with self._at(days(4)):
            self.call_stage.unlink()
        self.assertEqual(
            enrollment.next_stage_id, self.final_stage, "not escalated: the final notice is next"
        )
        self.assertEqual(enrollment.next_action_date, days(30))
        self.assertIn("removed", enrollment.event_ids.filtered(lambda e: e.action == "stage_moved").message)
        self._walk(4, 30)
        self.assertEqual((enrollment.state, enrollment.stage_id), ("running", self.final_stage))

    def test_removing_the_last_stage_plans_the_escalation(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 10)
        with self._at(days(11)):
            self.final_stage.unlink()
        self.assertEqual(
            (enrollment.next_stage_id, enrollment.next_action_date), (self.final_stage.browse(), days(17))
        )
        self._walk(11, 17)
        self.assertEqual(enrollment.state, "escalated")

    # ------------------------------------------------------------------
    # Holds after enrollment
    # ------------------------------------------------------------------

    def test_a_customer_put_on_hold_after_enrollment_is_no_longer_contacted(self):
        invoice = self._create_invoice()
        self._walk(0, 4)
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(len(self._reminders(enrollment)), 1)
        self.customer.collection_hold = True
        self._walk(5, 20)
        self.assertEqual((enrollment.state, enrollment.pause_reason), ("paused", "hold"))
        self.assertFalse(enrollment.activity_ids.filtered(lambda a: a.summary == "Call the customer"))
        self.assertIn("hold", enrollment.event_ids.filtered(lambda e: e.action == "paused").message)
        self.customer.collection_hold = False
        self._walk(21, 21)
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.stage_id, self.call_stage, "the call missed during the hold runs at once")

    def test_an_invoice_excluded_from_follow_up_after_enrollment_pauses(self):
        invoice = self._create_invoice()
        self._walk(0, 4)
        enrollment = invoice.collection_enrollment_ids
        invoice.no_followup = True
        self._walk(5, 40)
        self.assertEqual((enrollment.state, enrollment.pause_reason), ("paused", "hold"))
        self.assertEqual(len(self._reminders(enrollment)), 1, "no final notice")

    # ------------------------------------------------------------------
    # One email per customer, whatever the batch size
    # ------------------------------------------------------------------

    def test_one_email_per_customer_and_stage_across_batches(self):
        self.standard_process.write({"consolidate": True, "auto_enroll_overdue": False})
        self.env["ir.config_parameter"].sudo().set_param(f"{ADDON}.batch_size", "2")
        customers = self.customer | self.env["res.partner"].create(
            [{"name": f"Customer {n}", "email": f"ap{n}@example.com"} for n in range(2)]
        )
        invoices = self.env["account.move"]
        for customer in customers:
            for amount in (100, 200, 300):
                invoices |= self._create_invoice(amount=amount, partner=customer)
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 3)
        emails = self._reminders(enrollments)
        self.assertEqual(len(emails), 3, "one email for each customer's three invoices")
        for customer in customers:
            email = emails.filtered(lambda m, c=customer: c in m.partner_ids)
            self.assertEqual(len(email), 1)
            for invoice in invoices.filtered(lambda i, c=customer: i.partner_id == c):
                self.assertIn(invoice.name, str(email.body))
        self.assertEqual(set(enrollments.mapped("stage_id")), {self.reminder_stage})

    # ------------------------------------------------------------------
    # Bulk enrollment
    # ------------------------------------------------------------------

    def test_bulk_enrollment_enrolls_what_it_can_and_reports_the_rest(self):
        open_invoices = self._create_invoice() | self._create_invoice()
        enrolled = self._create_invoice()
        first = enrolled.collection_enroll(process_id=self.standard_process.id)
        paid = self._create_invoice()
        self._pay(paid)
        selection = open_invoices | enrolled | paid
        enrollments = selection.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(enrollments.move_id, open_invoices)
        self.assertEqual(enrolled.collection_enrollment_ids, first)
        self.assertFalse(paid.collection_enrollment_ids)
        with self.assertRaisesRegex(UserError, "already in a collection process"):
            selection.collection_enroll(process_id=self.standard_process.id, strict=True)

    def test_the_wizard_lists_what_it_skips_and_why(self):
        eligible = self._create_invoice()
        enrolled = self._create_invoice()
        enrolled.collection_enroll(process_id=self.standard_process.id)
        wizard = Form(
            self.env["collection.enroll.wizard"].with_context(default_move_ids=(eligible | enrolled).ids)
        )
        self.assertEqual(wizard.enroll_count, 1)
        self.assertIn(enrolled.name, wizard.skipped_note)
        self.assertIn("already in a collection process", wizard.skipped_note)
        action = wizard.save().action_enroll()
        self.assertEqual(action["res_id"], eligible.collection_enrollment_ids.id)

    # ------------------------------------------------------------------
    # Activation and the company's switch
    # ------------------------------------------------------------------

    def test_the_trigger_count_follows_the_companys_automatic_enrollment_switch(self):
        self._create_invoice(due_date=DAY_0)
        with self._at(days(30)):
            self.assertEqual(self.standard_process.trigger_enroll_count, 1)
            activation = self.env["collection.process.activation"].create(
                {"process_id": self.standard_process.id}
            )
            self.assertEqual(activation.enroll_count, 1)
            self.env.company.collection_auto_enroll = False
            self.standard_process.invalidate_recordset(["trigger_enroll_count"])
            self.assertEqual(self.standard_process.trigger_enroll_count, 0)
            activation = self.env["collection.process.activation"].create(
                {"process_id": self.standard_process.id}
            )
            self.assertEqual(activation.enroll_count, 0)
            self.assertTrue(activation.auto_enroll_off)

    # ------------------------------------------------------------------
    # Collect any payment from the desk
    # ------------------------------------------------------------------

    def test_a_payment_request_is_created_from_the_payment_requests_menu(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(f"{ADDON}.collection_payment_request_action")
        context = safe_eval(action["context"])
        with self._at(DAY_0):
            form = Form(
                self.env["collection.enrollment"].with_user(self.collections_user).with_context(**context)
            )
            form.partner_id = self.customer
            form.amount_due_at_enrollment = 80.0
            form.reference = "SUBSCRIPTION-42"
            form.due_date = DAY_0
            form.process_id = self.standard_process
            self.assertEqual(form.currency_id, self.env.company.currency_id)
            request = form.save()
        self.assertEqual((request.amount_residual, request.state), (80.0, "running"))
        self.assertFalse(request.move_id)
        self.assertEqual(request.next_stage_id, self.reminder_stage)
        with self._at(DAY_0), self.assertRaisesRegex(ValidationError, "greater than zero"):
            form = Form(self.env["collection.enrollment"].with_context(**context))
            form.partner_id = self.customer
            form.process_id = self.standard_process
            form.save()

    # ------------------------------------------------------------------
    # Disputes are resolved, with an outcome
    # ------------------------------------------------------------------

    def _disputed(self, amount=1000.0):
        invoice = self._create_invoice(amount=amount)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_dispute("wrong_amount", "We ordered 8, not 10.")
        return invoice, enrollment

    def _resolve(self, enrollment, day, **values):
        with self._at(day):
            wizard = Form(
                self.env["collection.dispute.resolution"]
                .with_user(self.collections_user)
                .with_context(default_enrollment_id=enrollment.id)
            )
            for field, value in values.items():
                setattr(wizard, field, value)
            wizard.save().action_resolve()

    def _customer_emails(self, enrollment, subject):
        return enrollment.message_ids.filtered(lambda m: subject in (m.subject or ""))

    def test_a_dispute_resolved_by_resuming_the_ladder(self):
        _invoice, enrollment = self._disputed()
        self._walk(1, 10)
        self.assertFalse(self._reminders(enrollment), "nothing while disputed")
        self._resolve(enrollment, days(11), outcome="resume", note="The 10 units were delivered.")
        self.assertEqual((enrollment.state, enrollment.pause_reason), ("running", False))
        resolved = enrollment.event_ids.filtered(lambda e: e.action == "dispute_resolved")
        self.assertEqual(len(resolved), 1)
        self.assertIn("The 10 units were delivered.", resolved.message)
        self.assertEqual(len(self._customer_emails(enrollment, "Your dispute")), 1)
        self._walk(11, 11)
        self.assertEqual(len(self._reminders(enrollment)), 1, "the ladder goes on from where it stood")

    def test_a_dispute_resolved_with_a_credit_note_resumes_for_the_rest(self):
        invoice, enrollment = self._disputed(amount=1000.0)
        refund = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": self.customer.id,
                "invoice_date": DAY_0,
                "invoice_line_ids": [
                    fields.Command.create({"name": "2 units", "price_unit": 200.0, "tax_ids": []})
                ],
            }
        )
        refund.action_post()
        self._resolve(enrollment, days(5), outcome="credit_note", credit_note_id=refund)
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(enrollment.amount_residual, 800.0)
        self.assertEqual(invoice.amount_residual, 800.0, "the credit note is reconciled with the invoice")
        resolved = enrollment.event_ids.filtered(lambda e: e.action == "dispute_resolved")
        self.assertIn(refund.name, resolved.message)

    def test_a_dispute_resolved_by_writing_off_closes_it_for_good(self):
        invoice, enrollment = self._disputed()
        self._resolve(enrollment, days(5), outcome="write_off", note="Not worth pursuing.")
        self.assertEqual((enrollment.state, enrollment.closed_on), ("written_off", days(5)))
        self.assertEqual(len(self._customer_emails(enrollment, "Your dispute")), 1)
        self.standard_process.auto_enroll_overdue = True
        self._walk(6, 40)
        self.assertEqual(invoice.collection_enrollment_ids, enrollment, "a written-off invoice stays out")

    def test_only_a_disputed_collection_is_resolved(self):
        invoice = self._create_invoice()
        enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        with self.assertRaisesRegex(UserError, "not disputed"):
            enrollment.action_resolve_dispute("resume")
        _invoice, disputed = self._disputed()
        with self.assertRaisesRegex(UserError, "credit note"):
            disputed.action_resolve_dispute("credit_note")


@tagged("post_install", "-at_install")
class TestLifecycleMigration(CollectionsCommon):
    """Databases of 19.0.1.0.0 hold the trigger's duplicates: several
    escalated collections of one invoice, escalation dates in closed_on."""

    def test_duplicates_of_the_old_trigger_are_closed_and_escalations_reopened(self):
        invoice = self._create_invoice()
        other = self._create_invoice()
        # The old index let several escalated collections of one invoice be.
        self.env.cr.execute(SQL("DROP INDEX collection_enrollment_invoice_enrolled_once"))
        enrollments = invoice.collection_enroll(process_id=self.standard_process.id, strict=True)
        for _n in range(2):
            enrollments.write({"state": "escalated", "closed_on": days(40)})
            enrollments.flush_recordset()
            enrollments |= self.env["collection.enrollment"].create(
                invoice._prepare_collection_enrollment_values(
                    self.standard_process, self.env["collection.segment.rule"]
                )
            )
        single = other.collection_enroll(process_id=self.standard_process.id, strict=True)
        single.write({"state": "escalated", "closed_on": days(41)})
        self.env.flush_all()
        load_migration("19.0.1.1.0", "pre-migrate").migrate(self.env.cr, "19.0.1.0.0")
        self.env.invalidate_all()
        oldest, middle, newest = enrollments.sorted("id")
        self.assertEqual(newest.state, "running", "the open collection stays")
        for replaced in (oldest, middle):
            self.assertEqual((replaced.state, replaced.cancel_reason), ("cancelled", "reenrolled"))
        self.assertEqual(
            (single.state, single.escalated_on, single.closed_on), ("escalated", days(41), False)
        )
        # The index of 19.0.1.1.0 holds on the migrated rows.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX collection_enrollment_invoice_enrolled_once ON collection_enrollment "
                "(move_id) WHERE move_id IS NOT NULL AND state IN ('running', 'paused', 'escalated')"
            )
        )


@tagged("post_install", "-at_install")
class TestContactPolicy(CollectionsCommon):
    """At most so many messages a day and a week per customer, across every
    process and invoice, and none on quiet days."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {
                "collection_contact_max_per_day": 1,
                "collection_contact_max_per_week": 3,
                "collection_quiet_days": True,
            }
        )
        cls.other_process = cls.standard_process.copy({"name": "Other ladder"})

    def _walk(self, first, last):
        for offset in range(first, last + 1):
            self._run_engine(days(offset))

    def _deferrals(self, enrollments):
        return enrollments.event_ids.filtered(lambda e: e.action == "deferred")

    def test_a_new_company_has_the_default_policy(self):
        company = self.env["res.company"].create({"name": "New Co"})
        self.assertEqual(
            (company.collection_contact_max_per_day, company.collection_contact_max_per_week),
            (1, 3),
        )
        self.assertTrue(company.collection_quiet_days)

    def test_one_message_a_day_across_processes(self):
        first = self._create_invoice()
        second = self._create_invoice()
        with self._at(DAY_0):
            one = first.collection_enroll(process_id=self.standard_process.id)
            two = second.collection_enroll(process_id=self.other_process.id)
        self._walk(3, 3)
        self.assertEqual(len(self._reminders(one | two)), 1, "one message on Thursday")
        deferred = self._deferrals(one | two)
        self.assertEqual(len(deferred), 1)
        self.assertIn("at most 1 a day", deferred.message)
        self.assertEqual((one | two).filtered(lambda e: e.stage_id).next_action_date, days(10))
        self.assertEqual(deferred.enrollment_id.next_action_date, days(4))
        self._walk(4, 4)
        self.assertEqual(len(self._reminders(one | two)), 2, "the other one on Friday")

    def test_a_stage_due_on_saturday_runs_on_monday(self):
        # Due on Thursday; the reminder falls on Saturday (day 5).
        invoice = self._create_invoice(due_date=days(2))
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(5))
        self.assertFalse(self._reminders(enrollment), "nothing on Saturday")
        self.assertEqual(self._deferrals(enrollment).mapped("stage_id"), enrollment.next_stage_id)
        self.assertEqual(enrollment.next_action_date, days(7), "deferred to Monday")
        self._run_engine(days(6))
        self.assertFalse(self._reminders(enrollment), "nothing on Sunday")
        self._run_engine(days(7))
        reminder = self._reminders(enrollment)
        self.assertEqual(len(reminder), 1)
        self.assertEqual(reminder.date.date(), days(7), "sent on Monday")

    def test_no_message_on_a_weekend_or_a_public_holiday(self):
        calendar = self.env.company.resource_calendar_id
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Public holiday",
                "calendar_id": calendar.id,
                "company_id": self.env.company.id,
                "date_from": fields.Datetime.to_datetime(days(7)),
                "date_to": fields.Datetime.to_datetime(days(7)) + timedelta(hours=23, minutes=59),
            }
        )
        # Due on Thursday; the reminder falls on Saturday (day 5).
        invoice = self._create_invoice(due_date=days(2))
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(5, 6)
        self.assertFalse(self._reminders(enrollment), "nothing on Saturday and Sunday")
        self.assertIn("quiet day", self._deferrals(enrollment)[:1].message)
        self.assertEqual(enrollment.next_action_date, days(8), "Monday is a public holiday: Tuesday")
        self._walk(7, 8)
        self.assertEqual(len(self._reminders(enrollment)), 1)

    def test_three_messages_a_week(self):
        self.env.company.collection_contact_max_per_day = 0
        invoices = [self._create_invoice() for _n in range(4)]
        processes = [self.standard_process] + [self.standard_process.copy() for _n in range(3)]
        with self._at(DAY_0):
            enrollments = self.env["collection.enrollment"].union(
                *(
                    invoice.collection_enroll(process_id=process.id)
                    for invoice, process in zip(invoices, processes, strict=True)
                )
            )
        self._walk(3, 3)
        self.assertEqual(len(self._reminders(enrollments)), 3)
        deferred = self._deferrals(enrollments)
        self.assertIn("at most 3 a week", deferred.message)
        self.assertEqual(
            deferred.enrollment_id.next_action_date, days(10), "seven days after the first three"
        )
