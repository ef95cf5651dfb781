from freezegun import freeze_time
from lxml import etree, html

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import format_date
from odoo.tools.safe_eval import safe_eval

from .common import ADDON, DAY_0, CollectionsCommon, days


def eval_domain(domain):
    return safe_eval(domain)


@tagged("post_install", "-at_install")
class TestCollectionsDesk(CollectionsCommon):
    """What an AR team does from the enrollments list and kanban, and what the
    invoice list and the customer form show."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoices = cls.env["account.move"]
        for amount in (100.0, 200.0, 300.0, 400.0):
            cls.invoices |= cls._create_invoice(amount=amount)
        with freeze_time(DAY_0):
            cls.enrollments = cls.invoices.collection_enroll(process_id=cls.standard_process.id)
        cls.running, cls.promised, cls.disputed, cls.escalated = cls.enrollments

    def _filter_domain(self, name):
        arch = self.env["collection.enrollment"].get_views([(False, "search")])["views"]["search"]["arch"]
        node = etree.fromstring(arch).xpath(f"//filter[@name='{name}']")[0]
        return node.get("domain")

    def _filtered(self, name):
        domain = self._filter_domain(name).replace("uid", str(self.env.uid))
        return self.env["collection.enrollment"].search(eval_domain(domain)) & self.enrollments

    def test_the_desk_filters(self):
        with self._at(days(1)):
            self.promised.action_promise_to_pay(days(5), 200.0)
            self.disputed.action_dispute("quality", "Broken on arrival")
            self._escalate_at_ladder_end(self.escalated)
        self.assertEqual(self._filtered("promised"), self.promised)
        self.assertEqual(self._filtered("disputed"), self.disputed)
        self.assertEqual(self._filtered("escalated"), self.escalated)
        self.assertEqual(self._filtered("overdue"), self.running | self.promised | self.disputed)
        self.assertEqual(
            self.env["collection.enrollment"]
            .with_user(self.collections_manager)
            .search(eval_domain(self._filter_domain("my").replace("uid", str(self.collections_manager.id))))
            & self.enrollments,
            self.enrollments,
            "the process's responsible",
        )

    def test_list_actions_pause_resume_and_cancel_are_logged(self):
        pause = self.env.ref(f"{ADDON}.collection_enrollment_action_pause")
        resume = self.env.ref(f"{ADDON}.collection_enrollment_action_resume")
        cancel = self.env.ref(f"{ADDON}.collection_enrollment_action_cancel")
        selection = self.running | self.promised
        user_env = self.env(user=self.collections_user)
        with self._at(days(1)):
            pause.with_env(user_env).with_context(
                active_model="collection.enrollment", active_ids=selection.ids
            ).run()
            self.assertEqual(selection.mapped("state"), ["paused", "paused"])
            resume.with_env(user_env).with_context(
                active_model="collection.enrollment", active_ids=selection.ids
            ).run()
            self.assertEqual(selection.mapped("state"), ["running", "running"])
            cancel.with_env(user_env).with_context(
                active_model="collection.enrollment", active_ids=self.running.ids
            ).run()
        self.assertEqual(self.running.state, "cancelled")
        bodies = " ".join(str(body) for body in self.running.message_ids.mapped("body"))
        for word in ("Paused", "resumed", "Cancelled"):
            self.assertIn(word, bodies)

    def test_run_the_next_action_now(self):
        with self._at(days(1)):
            self.running.action_run_next_now()
            self.assertEqual(self.running.stage_id, self.reminder_stage, "the reminder of day 3 ran on day 1")
            self.assertEqual(len(self._reminders(self.running)), 1)
            self.assertEqual(self.running.last_action_date, days(1))
            self.assertIn("ran the stage Reminder now", str(self.running.message_ids.mapped("body")))
        self._run_engine(days(3))
        self.assertEqual(len(self._reminders(self.running)), 1, "not again on its own day")
        self.escalated.action_cancel()
        with self.assertRaises(UserError):
            self.escalated.action_run_next_now()

    def test_running_now_says_why_the_stage_waits(self):
        """One message a day for the customer: the second collection's
        stage, asked to run now, waits for tomorrow, and says so instead of
        claiming it ran."""
        self.env.company.collection_contact_max_per_day = 1
        with self._at(days(1)):
            ran = self.running.action_run_next_now()
            waits = self.promised.action_run_next_now()
        self.assertEqual((ran["params"]["type"], len(self._reminders(self.running))), ("success", 1))
        self.assertEqual((waits["params"]["type"], len(self._reminders(self.promised))), ("warning", 0))
        self.assertIn("already got 1 message(s)", waits["params"]["message"])
        self.assertEqual(self.promised.next_action_date, days(2))
        [deferred] = [row for row in self.promised._get_timeline_rows() if row["status"] == "skipped"]
        self.assertIn("already got 1 message(s)", deferred["actions"], "the timeline gives the same reason")
        notes = str(self.promised.message_ids.mapped("body"))
        self.assertIn("asked to run the stage Reminder now, but it waits", notes)
        self.assertNotIn("ran the stage Reminder now", notes)

    def test_invoices_to_collect_shows_the_most_overdue_first_with_what_is_due(self):
        action = self.env.ref(f"{ADDON}.account_move_action_to_collect")
        views = (
            self.env["account.move"].with_user(self.collections_user).get_views([(action.view_id.id, "list")])
        )
        arch = etree.fromstring(views["views"]["list"]["arch"])
        self.assertEqual(arch.get("default_order"), "invoice_date_due, id", "the most overdue first")
        columns = arch.xpath("//field[not(@column_invisible)]/@name")
        for name in (
            "amount_residual_signed",
            "collection_days_overdue",
            "collection_state",
            "collection_stage_id",
        ):
            self.assertIn(name, columns)
        self.assertNotIn(
            "amount_total_in_currency_signed", arch.xpath("//field[not(@optional='hide')]/@name")
        )
        with self._at(days(10)):
            self.invoices.invalidate_recordset(["collection_days_overdue"])
            self.assertEqual(self.invoices.mapped("collection_days_overdue"), [10] * 4)
        with self._at(days(-2)):
            self.invoices.invalidate_recordset(["collection_days_overdue"])
            self.assertEqual(self.invoices[0].collection_days_overdue, 0, "not due yet")

    def test_a_stage_is_named_with_its_process_where_processes_mix(self):
        other = self.standard_process.copy({"name": "Strict"})
        names = (self.standard_process | other).stage_ids.filtered(lambda s: s.name == "Reminder")
        self.assertEqual(
            sorted(names.mapped("display_name")),
            [f"{self.standard_process.name}: Reminder", "Strict: Reminder"],
        )

    def test_the_responsible_shows_on_the_form_and_can_be_reassigned(self):
        # As if the fixtures were committed: Odoo tracks no change of a
        # record created in the same transaction.
        self.env.cr.precommit.run()
        with self._at(days(10)):
            form = Form(self.running.with_user(self.collections_user))
            self.assertEqual(form.days_overdue, 10)
            self.assertEqual(form.user_id, self.running.user_id)
            form.user_id = self.collections_user
            form.save()
        self.env.cr.precommit.run()
        self.assertEqual(self.running.user_id, self.collections_user)
        tracked = self.running.sudo().message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "user_id"
        )
        self.assertEqual(tracked.new_value_char, self.collections_user.name)

    def test_a_promise_and_a_dispute_are_logged_once_with_readable_dates(self):
        with self._at(days(1)):
            self.promised.action_promise_to_pay(days(5), 200.0)
            self.disputed.action_dispute("wrong_amount", "Billed twice")
        day = format_date(self.env, days(5))
        promise = self.promised.event_ids.filtered(lambda e: e.action == "promise")
        self.assertEqual(promise.message, f"until {day}: {self.promised.currency_id.format(200.0)} promised")
        dispute = self.disputed.event_ids.filtered(lambda e: e.action == "dispute")
        self.assertEqual(dispute.message, "The amount is wrong", "the event's action says it is a dispute")
        notes = str(self.promised.message_ids.mapped("body"))
        self.assertIn(f"Promise to pay until {day}", notes)
        self.assertNotIn(str(days(5)), notes, "no ISO date")
        [row] = [row for row in self.disputed._get_timeline_rows() if row["stage"] == "Dispute"]
        self.assertEqual(row["actions"], "The amount is wrong", "the timeline names the dispute once")

    def test_a_collection_started_by_hand_says_what_it_collects(self):
        invoice = self._create_invoice(amount=250.0)
        with self._at(DAY_0):
            enrollment = invoice.with_user(self.collections_user).collection_enroll(
                process_id=self.standard_process.id
            )
        first = enrollment.message_ids.sorted("id")[:1]
        amount = enrollment.currency_id.format(250.0)
        self.assertEqual(
            html.fromstring(str(first.body)).text_content(),
            f"Collection started in {self.standard_process.name}: {amount} due.",
        )

    def test_move_to_a_stage_with_the_reason_logged(self):
        self._run_engine(days(3))
        self.assertEqual(self.running.stage_id, self.reminder_stage)
        wizard = Form(
            self.env["collection.stage.move.wizard"]
            .with_user(self.collections_user)
            .with_context(default_enrollment_ids=self.running.ids)
        )
        wizard.stage_id = self.reminder_stage
        wizard.reason = "The customer lost the first email"
        with self._at(days(4)):
            wizard.save().action_move()
        self.assertEqual(
            (self.running.next_stage_id, self.running.next_action_date), (self.reminder_stage, days(4))
        )
        self.assertIn("lost the first email", str(self.running.message_ids.mapped("body")))
        self._run_engine(days(4))
        self.assertEqual(len(self._reminders(self.running)), 2, "the reminder ran again, under a new key")

    def test_moving_needs_a_reason_and_a_stage_of_the_process(self):
        other = self.env["collection.process"].create(
            {"name": "Other", "stage_ids": [fields.Command.create({"name": "Elsewhere", "delay_days": 1})]}
        )
        with self.assertRaises(UserError):
            self.running._move_to_stage(self.final_stage, "  ")
        with self.assertRaises(UserError):
            self.running._move_to_stage(other.stage_ids, "wrong ladder")
        self.assertFalse(self.running.event_ids.filtered(lambda e: e.action == "stage_moved"))

    def test_the_responsible_of_a_collection(self):
        self.assertEqual(self.running.user_id, self.collections_manager, "the process's responsible")
        self.standard_process.write(
            {"user_id": False, "team_user_ids": [fields.Command.set(self.collections_user.ids)]}
        )
        self.assertEqual(self.running.user_id, self.collections_user, "one of the team")
        self.standard_process.team_user_ids = False
        self.assertEqual(self.running.user_id, self.invoices[0].invoice_user_id, "else the salesperson")

    def test_the_invoice_list_filters_invoices_in_collections(self):
        self._escalate_at_ladder_end(self.escalated)
        Move = self.env["account.move"]
        self.assertEqual(
            Move.search([("collection_state", "in", ("running", "paused"))]) & self.invoices,
            self.invoices[:3],
        )
        self.assertEqual(
            Move.search([("collection_state", "=", "escalated")]) & self.invoices, self.invoices[3]
        )

    def test_the_customer_form_sums_up_collections(self):
        with self._at(days(1)):
            self.promised.action_promise_to_pay(days(5), 200.0)
            self.disputed.action_dispute("quality", "Broken on arrival")
        self._pay(self.invoices[0], day=days(10))
        self.running.closed_on = days(10)
        customer = self.customer
        customer.invalidate_recordset()
        self.assertEqual(customer.collection_open_count, 3)
        self.assertEqual(customer.collection_amount_due, 900.0)
        self.assertEqual((customer.collection_promise_count, customer.collection_dispute_count), (1, 1))
        # Invoice dated 30 days before its due date (DAY_0), paid on day 10.
        self.assertEqual(customer.collection_avg_days_to_pay, 40.0)
