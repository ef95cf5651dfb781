from unittest.mock import patch

from psycopg2.errors import UniqueViolation

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from ..models import collection_engine
from ..models.stage_actions.email import EMAIL_RENDER_FIELDS
from .common import ADDON, DAY_0, CollectionsCommon, days, load_migration


@tagged("post_install", "-at_install")
class TestEngine(CollectionsCommon):
    def _walk(self, first, last):
        """Run the engine once a day from day ``first`` to day ``last``."""
        for offset in range(first, last + 1):
            self._run_engine(days(offset))

    def _events(self, enrollment, action):
        return enrollment.event_ids.filtered(lambda e: e.action == action).sorted("id")

    def test_walks_the_whole_ladder_day_by_day_then_escalates(self):
        invoice = self._create_invoice(amount=1500)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(0, 2)
        self.assertFalse(self._reminders(enrollment), "nothing before the first stage's day")
        self._walk(3, 3)
        reminders = self._reminders(enrollment)
        self.assertEqual(len(reminders), 1)
        self.assertIn("Overdue payment", reminders.subject)
        self.assertIn(self.customer, reminders.partner_ids)
        self.assertIn(enrollment.get_portal_url().replace("&", "&amp;"), str(reminders.body))
        self.assertEqual(enrollment.stage_id, self.reminder_stage)
        self.assertEqual(enrollment.next_action_date, days(10), "the call comes 7 days after the reminder")
        self._walk(4, 10)
        activity = enrollment.activity_ids.filtered(lambda a: a.summary == "Call the customer")
        self.assertEqual(activity.user_id, self.collections_manager)
        self._walk(11, 45)
        reminders = self._reminders(enrollment)
        self.assertEqual(len(reminders), 2, "one email per email stage, never twice")
        final = reminders.sorted("id")[-1]
        self.assertIn("Final notice", final.subject)
        self.assertTrue(final.attachment_ids.filtered(lambda a: a.mimetype == "application/pdf"))
        self.assertEqual(enrollment.state, "escalated")
        escalation = self._events(enrollment, "escalation")
        self.assertFalse(escalation.stage_id, "the ladder is done: no stage escalates")
        self.assertEqual(enrollment.escalated_on, days(37), "7 days after the final notice, as it says")
        self.assertIn(self.escalation_tag, self.customer.category_id)
        self.assertEqual(self.customer.trust, "bad")
        self.assertTrue(enrollment.activity_ids.filtered(lambda a: a.summary.startswith("Escalated")))
        keys = enrollment.event_ids.filtered("key").mapped("key")
        self.assertEqual(len(keys), len(set(keys)))

    def test_payment_mid_process_stops_everything(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(0, 5)
        self._pay(invoice, day=days(5))
        self.assertEqual(enrollment.state, "paid")
        self._walk(6, 40)
        self.assertEqual(len(self._reminders(enrollment)), 1)
        self.assertFalse(self._events(enrollment, "escalation"))

    def test_partial_payment_keeps_chasing_the_rest(self):
        invoice = self._create_invoice(amount=1000)
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._pay(invoice, amount=400, day=DAY_0)
        self._walk(0, 3)
        self.assertEqual(enrollment.state, "running")
        self.assertIn("600.00", str(self._reminders(enrollment).body))

    def test_letter_action(self):
        self.call_stage.write({"attach_letter": True})
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 10)
        letter_event = self._events(enrollment, "letter")
        self.assertEqual(letter_event.stage_id, self.call_stage)
        self.assertTrue(letter_event.mail_message_id.attachment_ids)

    def test_payment_retry_without_saved_method_is_logged(self):
        self.reminder_stage.retry_payment = True
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 3)
        retry = self._events(enrollment, "payment_retry")
        self.assertEqual((retry.outcome, retry.message), ("skipped", "No saved payment method to charge."))

    def test_consolidates_one_email_per_customer(self):
        self.standard_process.consolidate = True
        invoices = (
            self._create_invoice(amount=100)
            | self._create_invoice(amount=200)
            | self._create_invoice(amount=300)
        )
        other_customer = self.env["res.partner"].create({"name": "Other", "email": "other@example.com"})
        other_invoice = self._create_invoice(partner=other_customer)
        with self._at(DAY_0):
            enrollments = (invoices | other_invoice).collection_enroll(process_id=self.standard_process.id)
        self._walk(3, 3)
        emails = self._reminders(enrollments)
        self.assertEqual(
            len(emails), 2, "one email for Slow Payer's three invoices, one for the other customer"
        )
        grouped = emails.filtered(lambda m: self.customer in m.partner_ids)
        for invoice in invoices:
            self.assertIn(invoice.name, str(grouped.body))
        email_events = enrollments.event_ids.filtered(lambda e: e.action == "email")
        self.assertEqual(len(email_events), 4)
        self.assertEqual(len(email_events.mail_message_id), 2)
        self.assertEqual(set(enrollments.mapped("stage_id")), {self.reminder_stage})

    def test_consolidated_emails_of_a_batch_render_together_as_each_alone(self):
        self.standard_process.consolidate = True
        second = self.env["res.partner"].create({"name": "Second & Sons", "email": "ap@second.example.com"})
        groups = []
        with self._at(DAY_0):
            for partner, amounts in (
                (self.customer, (100, 200)),
                (second, (300, 400, 500)),
                (second, (600,)),
            ):
                invoices = self.env["account.move"]
                for amount in amounts:
                    invoices |= self._create_invoice(amount=amount, partner=partner)
                groups.append(
                    (self.reminder_stage, invoices.collection_enroll(process_id=self.standard_process.id))
                )
        Email = self.env["collection.stage.action.email"]
        template = self.reminder_stage.mail_template_id
        together = Email._render_emails(groups)
        for (_stage, group), values in zip(groups, together, strict=True):
            alone = template.with_context(collection_group_ids=group.ids)._generate_template(
                group[:1].ids, EMAIL_RENDER_FIELDS
            )[group[0].id]
            self.assertEqual(values, alone)
            for enrollment in group:
                self.assertIn(enrollment.move_id.name, str(values["body_html"]))
        messages = Email._post_emails(groups)
        self.assertEqual(len(messages), 3)
        notes = self.env["mail.message"].search(
            [
                ("model", "=", "collection.enrollment"),
                ("res_id", "in", [e.id for _stage, group in groups for e in group[1:]]),
                ("body", "ilike", "Reminder sent with"),
            ]
        )
        self.assertEqual(len(notes), 3, "each collection covered by another's email notes it")

    def test_dispute_pause_holds_then_resume_catches_up(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_pause(reason="dispute", note="Goods damaged")
        self._walk(0, 20)
        self.assertFalse(self._reminders(enrollment))
        with self._at(days(20)):
            enrollment.action_resume()
        self.assertEqual(enrollment.next_action_date, days(20))
        self._walk(20, 20)
        self.assertEqual(len(self._reminders(enrollment)), 1)

    def test_pause_ends_on_its_date(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_pause(until=days(8))
        self._walk(0, 7)
        self.assertEqual(enrollment.state, "paused")
        self._walk(8, 8)
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(len(self._reminders(enrollment)), 1, "the reminder missed during the pause runs now")
        self.assertFalse(self._events(enrollment, "promise_broken"))

    def test_broken_promise_is_logged_and_the_next_stage_runs(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._walk(0, 3)
        with self._at(days(4)):
            enrollment.action_pause(reason="promise", until=days(6), amount=1000.0)
        self._walk(4, 6)
        self.assertEqual(enrollment.state, "paused", "the customer has the whole promised day to pay")
        self.assertFalse(self._events(enrollment, "promise_broken"))
        self._walk(7, 7)
        broken = self._events(enrollment, "promise_broken")
        self.assertEqual(len(broken), 1)
        self.assertEqual(broken.amount, 1000.0)
        self.assertEqual(enrollment.stage_id, self.call_stage, "the call ran as soon as the promise broke")

    def test_kept_promise_ends_as_paid(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
            enrollment.action_pause(reason="promise", until=days(6))
        self._pay(invoice, day=days(5))
        self._walk(0, 10)
        self.assertEqual(enrollment.state, "paid")
        self.assertFalse(self._events(enrollment, "promise_broken"))

    def test_auto_enroll_overdue_after_the_grace_period(self):
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 5})
        self.env.company.collection_default_process_id = self.standard_process
        invoice = self._create_invoice()
        self._run_engine(days(5))
        self.assertFalse(invoice.collection_enrollment_ids)
        self._run_engine(days(6))
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(enrollment.process_id, self.standard_process)
        self.assertEqual(
            enrollment.stage_id, self.reminder_stage, "enrolled late, the reminder ran on the same run"
        )
        self._run_engine(days(7))
        self.assertEqual(len(invoice.collection_enrollment_ids), 1)

    def test_an_enrolling_run_out_of_time_keeps_its_chunks_and_the_next_run_goes_on(self):
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 0})
        self.env.company.collection_default_process_id = self.standard_process
        self.env["ir.config_parameter"].sudo().set_param("collections_automation.batch_size", "2")
        invoices = self._create_invoice() | self._create_invoice() | self._create_invoice()
        progress = []

        def out_of_time(_cron, processed=0, remaining=None, **_kwargs):
            progress.append((processed, remaining))
            return 0.0  # the scheduled action's time is up

        Cron = self.registry["ir.cron"]
        engine = self.env["collection.engine"].with_context(cron_id=-1)
        with self._at(days(6)), patch.object(Cron, "_commit_progress", out_of_time):
            engine._cron_run()
        self.assertEqual(progress, [(2, 1)], "the first chunk committed, one invoice left: run again")
        enrollments = invoices.collection_enrollment_ids
        self.assertEqual(len(enrollments), 2)
        self.assertFalse(self._reminders(enrollments), "out of time, the run did nothing more")
        with self._at(days(6)), patch.object(Cron, "_commit_progress", lambda *_args, **_kwargs: 60.0):
            engine._cron_run()
        enrollments = invoices.collection_enrollment_ids
        self.assertEqual(enrollments.move_id, invoices, "the next run enrolls the rest, nothing twice")
        self.assertEqual(len(enrollments), 3)
        self.assertEqual(enrollments.stage_id, self.reminder_stage, "and runs the stage due")
        self.assertEqual(len(self._reminders(enrollments)), 3)

    def test_the_engine_enrolls_without_creation_note_or_robot_follower(self):
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 5})
        self.env.company.collection_default_process_id = self.standard_process
        invoice = self._create_invoice()
        with self._at(days(6)):
            self.env["collection.engine"]._cron_run()
        enrollment = invoice.collection_enrollment_ids
        self.assertEqual(len(enrollment), 1)
        self.assertEqual(
            enrollment.message_ids, self._reminders(enrollment), "the reminder, no creation note"
        )
        self.assertFalse(enrollment.message_partner_ids, "no follower")
        self.assertTrue(enrollment.event_ids.filtered(lambda e: e.action == "enrolled"))
        # An accountant's enrollment keeps Odoo's note, and its author follows it.
        manual = self._create_invoice()
        by_hand = manual.with_user(self.collections_user).collection_enroll(
            process_id=self.standard_process.id
        )
        self.assertTrue(by_hand.message_ids)
        self.assertIn(self.collections_user.partner_id, by_hand.message_partner_ids)

    def test_auto_enroll_before_the_due_date(self):
        friendly = self.env["collection.process"].create(
            {
                "name": "Friendly",
                "auto_enroll_pre_due": True,
                "pre_due_days": 5,
                "stage_ids": [
                    fields.Command.create(
                        {
                            "name": "Heads-up",
                            "delay_days": -3,
                            "send_email": True,
                            "mail_template_id": self.env.ref(f"{ADDON}.mail_template_friendly_reminder").id,
                        }
                    )
                ],
            }
        )
        self.env.company.collection_default_process_id = friendly
        invoice = self._create_invoice(due_date=days(10))
        self._run_engine(days(4))
        self.assertFalse(invoice.collection_enrollment_ids)
        self._run_engine(days(5))
        self.assertEqual(invoice.collection_enrollment_ids.process_id, friendly)
        self._walk(6, 7)
        self.assertEqual(len(self._reminders(invoice.collection_enrollment_ids)), 1)

    def test_auto_enroll_skips_held_and_excluded(self):
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 0})
        self.env.company.collection_default_process_id = self.standard_process
        held_customer = self.env["res.partner"].create({"name": "Held", "collection_hold": True})
        held = self._create_invoice(partner=held_customer)
        excluded = self._create_invoice()
        excluded.no_followup = True
        self._run_engine(days(3))
        self.assertFalse((held | excluded).collection_enrollment_ids)

    def test_the_triggers_read_only_the_invoices_their_process_may_get(self):
        """The segment rules give untagged customers' invoices to the default
        process, whose triggers are off: the card process's trigger does not
        read them at every run (before: every open invoice of the company was
        read, and none enrolled, at every run)."""
        self.env.company.collection_default_process_id = self.standard_process
        card_tag = self.env["res.partner.category"].create({"name": "Card on file"})
        card = self.env["collection.process"].create(
            {
                "name": "Card on file",
                "auto_enroll_pre_due": True,
                "pre_due_days": 3,
                "stage_ids": [fields.Command.create({"name": "Charge", "delay_days": 0})],
            }
        )
        self.env["collection.segment.rule"].create(
            {"name": "Cards", "sequence": 1, "process_id": card.id, "partner_category_ids": card_tag.ids}
        )
        carded = self.env["res.partner"].create({"name": "Carded", "category_id": card_tag.ids})
        by_card = self._create_invoice(partner=carded, due_date=days(2))
        others = self._create_invoice(due_date=days(-20)) | self._create_invoice(due_date=days(2))
        with self._at(DAY_0):
            candidates = self.env["collection.engine"]._get_auto_enroll_invoice_ids(self.env.company, card)
        self.assertEqual(candidates, by_card.ids)
        self._run_engine(DAY_0)
        self.assertEqual(by_card.collection_enrollment_ids.process_id, card)
        self.assertFalse(others.collection_enrollment_ids)

    def test_a_hold_in_another_company_pauses_that_company_s_collections(self):
        """A collection hold is set per company. The scheduled action runs
        as a user of one company; a customer held in another company has
        that company's collections paused, and kept running in a company
        where it is not held (before: the hold was read in the action's
        company only)."""
        other = self.setup_other_company()["company"]
        other_env = self.env(context=dict(self.env.context, allowed_company_ids=other.ids))
        process = other_env["collection.process"].create(
            {
                "name": "Other company's",
                "stage_ids": [fields.Command.create({"name": "Reminder", "delay_days": 30})],
            }
        )
        foreign = other_env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": days(-30),
                "invoice_date_due": DAY_0,
                "invoice_line_ids": [
                    fields.Command.create({"name": "Goods", "price_unit": 300.0, "tax_ids": []})
                ],
            }
        )
        foreign.action_post()
        home = self._create_invoice()
        with self._at(DAY_0):
            foreign_collection = foreign.collection_enroll(process_id=process.id)
            home_collection = home.collection_enroll(process_id=self.standard_process.id)
        self.customer.with_company(other).collection_hold = True
        self._run_engine(days(1))
        self.assertEqual((foreign_collection.state, foreign_collection.pause_reason), ("paused", "hold"))
        self.assertEqual(home_collection.state, "running")
        self.customer.with_company(other).collection_hold = False
        self._run_engine(days(2))
        self.assertEqual(foreign_collection.state, "running")

    def test_failed_online_payment_enrolls(self):
        failed_process = self.env["collection.process"].create(
            {
                "name": "Failed payments",
                "enroll_on_payment_failure": True,
                "stage_ids": [
                    fields.Command.create({"name": "Ask again", "delay_days": 0, "delay_from": "enrollment"})
                ],
            }
        )
        invoice = self._create_invoice()
        provider = self.env["payment.provider"].create({"name": "Test provider", "state": "test"})
        transaction = self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "amount": invoice.amount_residual,
                "currency_id": invoice.currency_id.id,
                "partner_id": self.customer.id,
                "reference": "COLLECT-FAIL-1",
                "invoice_ids": [fields.Command.set(invoice.ids)],
            }
        )
        transaction._set_error("Card declined")
        self.assertEqual(invoice.collection_enrollment_ids.process_id, failed_process)

    def test_a_failing_enrollment_never_blocks_the_others(self):
        invoices = (
            self._create_invoice(amount=100)
            | self._create_invoice(amount=200)
            | self._create_invoice(amount=300)
        )
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        victim = enrollments[1]
        original = type(self.env["collection.stage.action.email"])._post_emails

        def flaky_post(handler, groups):
            if any(victim in group for _stage, group in groups):
                raise ValueError("mail server unreachable")
            return original(handler, groups)

        with patch.object(type(self.env["collection.stage.action.email"]), "_post_emails", flaky_post):
            self._run_engine(days(3))
        self.assertEqual(len(self._reminders(enrollments - victim)), 2)
        self.assertFalse(self._reminders(victim))
        self.assertEqual(victim.failure_count, 1)
        self.assertIn("mail server unreachable", victim.last_error)
        self.assertFalse(
            victim.event_ids.filtered(lambda e: e.action == "email"), "the failed attempt left no key"
        )
        self.assertEqual(self._events(victim, "error").outcome, "failed")
        # Backoff: the same day's next runs leave it alone, a later one retries.
        self._run_engine(days(3))
        self.assertFalse(self._reminders(victim))
        self._run_engine(days(4))
        self.assertEqual(len(self._reminders(victim)), 1)
        self.assertEqual((victim.failure_count, victim.last_error), (0, False))

    def test_an_upgrade_keeps_the_engines_back_off_under_its_new_name(self):
        """19.0.1.5.1 renames retry_after, the engine's back-off, apart from
        the card's payment retry."""
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        moment = fields.Datetime.to_datetime("2026-03-05 10:00:00")
        enrollment.backoff_until = moment
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(SQL("ALTER TABLE collection_enrollment RENAME COLUMN backoff_until TO retry_after"))
        cr.execute(
            SQL(
                "UPDATE ir_model_fields SET name = 'retry_after'"
                " WHERE model = 'collection.enrollment' AND name = 'backoff_until'"
            )
        )
        load_migration("19.0.1.5.1", "pre-migrate").migrate(cr, "19.0.1.5.0")
        self.env.invalidate_all()
        self.assertEqual(enrollment.backoff_until, moment)
        field = self.env["ir.model.fields"]._get("collection.enrollment", "backoff_until")
        self.assertEqual(field.name, "backoff_until")

    def test_an_action_key_cannot_be_written_twice(self):
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        email = self.env["collection.stage.action.email"]
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            email._claim([(self.reminder_stage, enrollment)])
        # An enrollment whose action already ran (its key exists) moves on
        # instead of being taken again and again.
        enrollment.write({"next_stage_id": self.reminder_stage.id, "next_action_date": days(3)})
        with mute_logger("odoo.sql_db", "odoo.addons.collections_automation.models.collection_engine"):
            self._run_engine(days(3))
        self.assertEqual(enrollment.next_stage_id, self.call_stage)
        self.assertEqual(len(self._reminders(enrollment)), 1)
        # A stage moved back to by hand may run again: the cycle is in the key.
        enrollment.stage_cycle += 1
        self.assertEqual(len(email._claim([(self.reminder_stage, enrollment)])), 1)

    def test_times_follow_the_company_time_zone_and_skip_weekends(self):
        self.reminder_stage.write({"delay_days": 5, "skip_weekends": True})  # due Monday + 5 = Saturday
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual(enrollment.next_action_date, days(7), "Saturday moves to Monday")
        self.env.company.partner_id.tz = "Pacific/Kiritimati"  # UTC+14: noon UTC is already tomorrow there
        with self._at(days(6)):
            self.assertEqual(enrollment._company_today(), days(7))
            self.env["collection.engine"]._cron_run()
        self.assertEqual(len(self._reminders(enrollment)), 1)

    def test_batch_cost_grows_with_the_work_not_the_records(self):
        def batch_of(count):
            invoices = self.env["account.move"]
            for index in range(count):
                invoices |= self._create_invoice(amount=100 + index)
            with self._at(DAY_0):
                enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
            self.env.flush_all()
            self.env.invalidate_all()
            return enrollments

        batch_of(5)
        with self.assertQueryCount(80):  # measured 68, with the first run's template and view loading
            self._run_engine(days(3))
        batch_of(20)
        # Twenty reminders on a warm server, formal notices dated included:
        # 47 queries here, under 2.5 per action.
        with self.assertQueryCount(60):
            self._run_engine(days(3))

    def test_enrolling_in_bulk_costs_the_same_queries_for_ten_invoices_or_forty(self):
        def invoices_of(count):
            invoices = self.env["account.move"]
            for index in range(count):
                invoices |= self._create_invoice(amount=100 + index)
            self.env.flush_all()
            self.env.invalidate_all()
            return invoices

        with self._at(DAY_0):
            invoices_of(5).collection_enroll(process_id=self.standard_process.id)
            enrollments = self.env["collection.enrollment"]
            # Everything is written for the whole batch, the collections'
            # numbers drawn in one statement (they took one each). The first
            # batch after the warm-up still fills a few caches.
            queries = []
            for count in (10, 10, 40):
                invoices = invoices_of(count)
                before = self.env.cr.sql_log_count
                with self.assertQueryCount(31):
                    enrollments |= invoices.collection_enroll(process_id=self.standard_process.id)
                    self.env.flush_all()
                queries.append(self.env.cr.sql_log_count - before)
            self.assertEqual(queries[1], queries[2])
        names = enrollments.mapped("name")
        self.assertEqual(len(set(names)), 60, "each collection has its own number")
        self.assertTrue(all(name.startswith("COL/") for name in names))
        enrolled = self.env["collection.event"].search(
            [("enrollment_id", "in", enrollments.ids), ("action", "=", "enrolled")]
        )
        self.assertEqual(enrolled.enrollment_id, enrollments)

    def _at_the_end_of_the_ladder(self, count):
        """``count`` collections of customers of their own, their final notice
        run, waiting for the escalation on day 40."""
        invoices = self.env["account.move"]
        for index in range(count):
            customer = self.env["res.partner"].create(
                {"name": f"Escalated customer {index}", "email": f"ap{index}@late.example.com"}
            )
            invoices |= self._create_invoice(amount=100 + index, partner=customer)
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        enrollments.write(
            {"stage_id": self.final_stage.id, "next_stage_id": False, "next_action_date": days(40)}
        )
        self.env.flush_all()
        self.env.invalidate_all()
        return enrollments

    def test_escalating_in_bulk_costs_a_few_queries_per_collection(self):
        self._at_the_end_of_the_ladder(3)
        self._run_engine(days(40))
        enrollments = self._at_the_end_of_the_ladder(30)
        last_message = self.env["mail.message"].search([], order="id desc", limit=1)
        # Tags, trust, activities, events and notes with their change of
        # state for the whole batch, and one message for the responsible
        # (62 queries for 30 collections here). The suite runs with Odoo's
        # tracking on, so a change of state that Odoo tracked one record at a
        # time would show here.
        with self.assertQueryCount(70):
            self._run_engine(days(40))
        self.assertEqual(set(enrollments.mapped("state")), {"escalated"})
        self.assertTrue(all(self.escalation_tag in e.partner_id.category_id for e in enrollments))
        self.assertEqual(set(enrollments.partner_id.mapped("trust")), {"bad"})
        self.assertEqual(len(self._events(enrollments, "escalation")), 30)
        self.assertEqual(len(enrollments.activity_ids), 30)
        self.assertEqual(enrollments.activity_ids.user_id, self.collections_manager)
        told = self.env["mail.message"].search(
            [
                ("id", ">", last_message.id),
                ("partner_ids", "in", self.collections_manager.partner_id.ids),
                ("message_type", "=", "user_notification"),
            ]
        )
        self.assertEqual(len(told), 1, "one message for the run, not one per activity")
        self.assertEqual(told.subject, "30 collection(s) escalated to you")
        for enrollment in enrollments:
            self.assertIn(f"/odoo/collection.enrollment/{enrollment.id}", str(told.body))
        notes = self.env["mail.message"].search(
            [
                ("model", "=", "collection.enrollment"),
                ("res_id", "in", enrollments.ids),
                ("body", "ilike", "Escalated with"),
            ]
        )
        self.assertEqual(len(notes), 30)
        self.assertEqual(
            notes.tracking_value_ids.mapped(lambda t: (t.field_id.name, t.old_value_char, t.new_value_char)),
            [("state", "Running", "Escalated")] * 30,
            "each note carries its collection's new state",
        )
        tracked = (
            self.env["mail.message"]
            .search(
                [
                    ("model", "=", "collection.enrollment"),
                    ("res_id", "in", enrollments.ids),
                    ("id", ">", last_message.id),
                ]
            )
            .filtered("tracking_value_ids")
        )
        self.assertEqual(tracked, notes, "no second message for the change of state")

    def test_a_large_run_refreshes_the_planner_statistics(self):
        invoices = self._create_invoice(amount=120) | self._create_invoice(amount=340)
        invoices |= self._create_invoice(amount=560)
        with self._at(DAY_0):
            invoices.collection_enroll(process_id=self.standard_process.id)
        Engine = type(self.env["collection.engine"])
        refreshed = []
        original = Engine._refresh_statistics

        def spy(engine_self):
            refreshed.append(True)
            return original(engine_self)

        with patch.object(Engine, "_refresh_statistics", spy):
            self._run_engine(days(3))
            self.assertFalse(refreshed, "three reminders leave the statistics to autovacuum")
            invoices[:1].collection_enrollment_id.write(
                {"next_stage_id": self.reminder_stage.id, "next_action_date": days(3), "stage_cycle": 1}
            )
            with patch.object(collection_engine, "STATISTICS_REFRESH_ROWS", 1):
                self._run_engine(days(3))
        self.assertEqual(refreshed, [True])
        # The statistics know that events have stages: the KPI screen's
        # joins are planned for the run's events, not for none.
        self.env.cr.execute(
            "SELECT null_frac FROM pg_stats WHERE tablename = 'collection_event' AND attname = 'stage_id'"
        )
        (null_frac,) = self.env.cr.fetchone()
        self.assertLess(null_frac, 1.0)

    def test_batch_rendering_matches_odoo_rendering(self):
        invoices = self._create_invoice(amount=120) | self._create_invoice(amount=340)
        other = self.env["res.partner"].create(
            {"name": "Third & <Co>", "email": "third@example.com", "lang": "en_US"}
        )
        invoices |= self._create_invoice(amount=560, partner=other)
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        template = self.env.ref(f"{ADDON}.mail_template_overdue")
        template.email_cc = "{{ object.partner_id.email or '' }}, {{ object.name }}"
        # A default for an empty value, a closure over the record and a
        # comment: each evaluates as Odoo evaluates it.
        template.subject = (
            "{{ object.name }}: {{ object.pause_reason ||| not paused }}, "
            "{{ object.move_id.filtered(lambda move: move.partner_id == object.partner_id).name # same }}"
        )
        fields_to_render = ("subject", "body_html", "email_from", "partner_to", "email_cc")
        one_by_one = template._generate_template(enrollments.ids, fields_to_render)
        with self._spy(type(template), "_render_inline_template_batch") as calls:
            batched = template.with_context(collection_batch_render=True)._generate_template(
                enrollments.ids, fields_to_render
            )
        self.assertTrue(calls, "inline templates rendered in batch")
        # Odoo keeps the space before "}}" in a default.
        self.assertEqual(
            batched[enrollments[0].id]["subject"],
            f"{enrollments[0].name}: not paused , {enrollments[0].move_id.name}",
        )
        for enrollment in enrollments:
            for field in fields_to_render:
                self.assertEqual(
                    batched[enrollment.id].get(field), one_by_one[enrollment.id].get(field), field
                )
            self.assertIn(enrollment.move_id.name, str(batched[enrollment.id]["body_html"]))
        self.assertIn("Third &amp; &lt;Co&gt;", str(batched[enrollments[2].id]["body_html"]))
        self.assertEqual(batched[enrollments[2].id]["subject"], one_by_one[enrollments[2].id]["subject"])

    def test_batch_rendering_reports_template_errors_as_odoo_does(self):
        invoices = self._create_invoice(amount=120) | self._create_invoice(amount=340)
        with self._at(DAY_0):
            enrollments = invoices.collection_enroll(process_id=self.standard_process.id)
        template = self.env.ref(f"{ADDON}.mail_template_overdue")
        # Fails on the second record only, when rendering, not when saving.
        template.subject = "Due: {{ 100 // (object.amount_due_at_enrollment - 340) }}"
        with self.assertRaises(UserError):
            template.with_context(collection_batch_render=True)._generate_template(
                enrollments.ids, ("subject",)
            )
