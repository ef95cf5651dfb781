from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import Form, tagged
from odoo.tools import format_date

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestProcessDesigner(CollectionsCommon):
    """The process form as a designer: the timeline preview, how many
    invoices the triggers would enroll, and what an edit does to the
    collections that follow the process."""

    def _rows(self, process):
        return [(stage.name, date, skipped) for stage, date, skipped in process._get_timeline()]

    def test_the_timeline_follows_the_sample_invoice(self):
        invoice = self._create_invoice(due_date=DAY_0)
        self.standard_process.preview_invoice_id = invoice
        with self._at(days(-5)):
            self.assertEqual(
                self._rows(self.standard_process),
                [
                    ("Reminder", days(3), False),
                    ("Call", days(10), False),
                    ("Final notice", days(30), False),
                    (False, days(37), False),
                ],
            )
            html = str(self.standard_process.timeline_preview)
        self.assertIn(format_date(self.env, days(10)), html)
        self.assertIn("Email, Letter", html, "each stage's actions at a glance")
        self.assertIn("escalated", html)

    def test_a_late_sample_skips_the_stages_the_engine_would_skip(self):
        self.standard_process.preview_invoice_id = self._create_invoice(due_date=DAY_0)
        with self._at(days(12)):
            rows = self._rows(self.standard_process)
            html = str(self.standard_process.timeline_preview)
        # Enrolled on day 12: the call (counted from the reminder, day 10) has
        # come, so the reminder is skipped and the call runs at once, as the
        # engine does.
        self.assertEqual(rows[0], ("Reminder", days(3), True))
        self.assertEqual(rows[1], ("Call", days(12), False), "its day has passed: it runs today")
        self.assertEqual(rows[2], ("Final notice", days(30), False))
        self.assertIn("skipped", html)

    def test_the_preview_changes_as_the_admin_edits_the_stages(self):
        with self._at(DAY_0):
            form = Form(self.env["collection.process"].with_user(self.collections_manager))
            form.name = "Designer"
            self.assertIn("Add stages", str(form.timeline_preview))
            with form.stage_ids.new() as stage:
                stage.name = "Nudge"
                stage.delay_days = 2
                stage.delay_from = "due_date"
                stage.create_activity = True
            self.assertIn("Nudge", str(form.timeline_preview))
            self.assertIn(format_date(self.env, days(2)), str(form.timeline_preview))
            process = form.save()
        self.assertTrue(process.active)

    def test_the_form_tells_how_many_invoices_the_triggers_would_enroll(self):
        self.env.company.collection_default_process_id = self.standard_process
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 5})
        self._create_invoice(due_date=days(-10))
        self._create_invoice(due_date=days(-20))
        self._create_invoice(due_date=days(-2))  # within the grace period
        with self._at(DAY_0):
            self.standard_process.invalidate_recordset(["trigger_enroll_count"])
            self.assertEqual(self.standard_process.trigger_enroll_count, 2)
        self._run_engine(DAY_0)
        with self._at(DAY_0):
            self.standard_process.invalidate_recordset(["trigger_enroll_count"])
            self.assertEqual(self.standard_process.trigger_enroll_count, 0, "they are enrolled now")

    def test_activating_says_how_many_invoices_the_triggers_enroll(self):
        with self._at(DAY_0):
            form = Form(
                self.env["collection.process"]
                .with_user(self.collections_manager)
                .with_context(default_active=False)
            )
            form.name = "Big accounts"
            form.auto_enroll_overdue = True
            form.grace_days = 5
            form.auto_enroll_pre_due = True
            form.pre_due_days = 3
            with form.stage_ids.new() as stage:
                stage.name = "Call"
                stage.create_activity = True
            process = form.save()
        self.assertFalse(process.active, "a new process from the menu waits for its activation")
        self.env["collection.segment.rule"].create(
            {"name": "Over 5,000", "process_id": process.id, "amount_min": 5000, "sequence": 1}
        )
        self._create_invoice(amount=6000, due_date=days(-10))  # overdue past the grace period
        self._create_invoice(amount=7000, due_date=days(2))  # falls due within 3 days
        # Overdue within the grace period, but due "within 3 days" too: the
        # pre-due trigger takes it, as the engine does.
        self._create_invoice(amount=8000, due_date=days(-2))
        self._create_invoice(amount=9000, due_date=days(30))  # not due for a while
        self._create_invoice(amount=100, due_date=days(-10))  # the rule does not fit
        with self._at(DAY_0):
            action = process.with_user(self.collections_manager).action_activate()
            activation = self.env[action["res_model"]].browse(action["res_id"])
            self.assertEqual(
                (activation.enroll_count, activation.overdue_count, activation.not_yet_due_count),
                (3, 2, 1),
            )
            self.assertEqual(activation.enroll_amount, 21000)
            self.assertFalse(process.active, "nothing changes before the admin confirms")
            activation.with_user(self.collections_manager).action_activate()
        self.assertTrue(process.active)
        self.assertIn("enroll 3 open invoice(s)", process.message_ids[0].body)
        self._run_engine(DAY_0)
        self.assertEqual(len(process.enrollment_ids), 3, "the engine enrolls what the dialog said")

    def test_a_process_without_stages_cannot_be_activated(self):
        process = self.env["collection.process"].create({"name": "Empty", "active": False})
        with self.assertRaisesRegex(UserError, "has no stage"):
            process.with_user(self.collections_manager).action_activate()

    def test_the_timeline_is_what_the_engine_does(self):
        invoice = self._create_invoice(due_date=DAY_0)
        self.standard_process.preview_invoice_id = invoice
        with self._at(days(12)):
            expected = {
                stage: day
                for stage, day, skipped in self.standard_process._get_timeline()
                if stage and not skipped
            }
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        for day in range(12, 32):
            self._run_engine(days(day))
        ran = {}
        for event in enrollment.event_ids.sorted("id"):
            if event.action in ("email", "activity", "letter"):
                ran.setdefault(event.stage_id, event.date.date())
        self.assertEqual(ran, expected)

    def test_the_preview_flags_a_stage_added_out_of_order(self):
        with self._at(DAY_0):
            form = Form(self.standard_process.with_user(self.collections_manager))
            self.assertNotIn("o_collection_timeline_problems", str(form.timeline_preview))
            # "Add a line" puts the new stage at the bottom, after the 30-day final notice.
            with form.stage_ids.new() as stage:
                stage.name = "Second reminder"
                stage.delay_days = 15
                stage.delay_from = "due_date"
                stage.create_activity = True
            preview = str(form.timeline_preview)
            self.assertIn("o_collection_timeline_problems", preview)
            self.assertIn("“Second reminder” (15 days) comes after “Final notice” (30 days)", preview)
            self.assertIn("cannot be saved in this order", preview)
            with self.assertRaisesRegex(ValidationError, "must not go backwards"):
                form.save()

    def _follow_standard_process(self):
        """Two collections of the standard process on day 3: one whose reminder
        ran (the call comes seven days later, on day 10), one enrolled today
        that waits for the reminder (day 6: three days after its due date)."""
        reminded = self._create_invoice(due_date=DAY_0)
        waiting = self._create_invoice(due_date=days(3))
        with self._at(DAY_0):
            reminded = reminded.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        with self._at(days(3)):
            waiting = waiting.collection_enroll(process_id=self.standard_process.id)
        self.assertEqual((reminded.next_stage_id, reminded.next_action_date), (self.call_stage, days(10)))
        self.assertEqual((waiting.next_stage_id, waiting.next_action_date), (self.reminder_stage, days(6)))
        return reminded, waiting

    def _replanned_events(self, collection):
        return collection.event_ids.filtered(lambda e: "stages changed" in (e.message or ""))

    def test_editing_a_stage_plans_the_collections_that_wait_for_it_again(self):
        reminded, waiting = self._follow_standard_process()
        with self._at(days(4)):
            form = Form(self.standard_process.with_user(self.collections_manager))
            with form.stage_ids.edit(1) as call:
                call.delay_days = 4
            form.save()
        self.assertEqual((reminded.next_stage_id, reminded.next_action_date), (self.call_stage, days(7)))
        [event] = self._replanned_events(reminded)
        self.assertIn(format_date(self.env, days(7)), event.message)
        self.assertEqual(event.stage_id, self.call_stage)
        self.assertEqual(waiting.next_action_date, days(6), "its reminder did not change")
        self.assertFalse(self._replanned_events(waiting))
        note = self.standard_process.message_ids[:1]
        self.assertIn("1 running collection(s) planned again", str(note.body))
        # The engine follows the new plan: the call comes on day 7.
        self._run_engine(days(7))
        self.assertEqual(reminded.stage_id, self.call_stage)

    def test_a_new_stage_before_the_next_one_comes_first(self):
        reminded, waiting = self._follow_standard_process()
        with self._at(days(4)):
            self.standard_process.with_user(self.collections_manager).stage_ids = [
                # Sequence 1 as the reminder's: after it (a newer stage), before the call.
                Command.create(
                    {
                        "name": "Nudge",
                        "sequence": 1,
                        "delay_days": 2,
                        "delay_from": "previous_stage",
                        "create_activity": True,
                    }
                )
            ]
        nudge = self.standard_process.stage_ids.filtered(lambda s: s.name == "Nudge")
        self.assertEqual((reminded.next_stage_id, reminded.next_action_date), (nudge, days(5)))
        self.assertEqual(len(self._replanned_events(reminded)), 1, "one event, however the stage was added")
        self.assertEqual((waiting.next_stage_id, waiting.next_action_date), (self.reminder_stage, days(6)))

    def test_a_plan_set_by_a_person_stays_when_the_ladder_changes(self):
        reminded, _waiting = self._follow_standard_process()
        with self._at(days(4)):
            reminded._move_to_stage(self.final_stage, "The customer asked for the final notice.")
            planned = (reminded.next_stage_id, reminded.next_action_date)
            self.call_stage.with_user(self.collections_manager).delay_days = 4
        self.assertEqual((reminded.next_stage_id, reminded.next_action_date), planned)
        self.assertFalse(self._replanned_events(reminded))

    def test_a_longer_escalation_delay_moves_the_waiting_escalations(self):
        invoice = self._create_invoice(due_date=DAY_0)
        with self._at(DAY_0):
            collection = invoice.collection_enroll(process_id=self.standard_process.id)
        for day in (3, 10, 30):
            self._run_engine(days(day))
        self.assertEqual(
            (collection.next_stage_id, collection.next_action_date), (self.final_stage.browse(), days(37))
        )
        with self._at(days(31)):
            self.standard_process.with_user(self.collections_manager).escalation_delay_days = 14
        self.assertEqual(collection.next_action_date, days(44))
        self.assertIn("the escalation", self._replanned_events(collection).message)

    def test_removing_a_stage_a_collection_ran_does_not_run_the_earlier_ones_again(self):
        invoice = self._create_invoice(due_date=DAY_0)
        with self._at(DAY_0):
            collection = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(days(3))
        self._run_engine(days(10))
        self.assertEqual((collection.stage_id, collection.next_stage_id), (self.call_stage, self.final_stage))
        with self._at(days(12)):
            form = Form(self.standard_process.with_user(self.collections_manager))
            form.stage_ids.remove(1)  # the call, which ran on day 10
            form.save()
        self.assertEqual(
            (collection.next_stage_id, collection.next_action_date), (self.final_stage, days(30))
        )
        self.assertFalse(self._replanned_events(collection), "its next step did not change")
        for day in range(12, 31):
            self._run_engine(days(day))
        reminders = collection.event_ids.filtered(
            lambda e: e.action == "email" and e.stage_id == self.reminder_stage
        )
        self.assertEqual(len(reminders), 1, "the reminder ran once, on day 3")
        self.assertEqual(collection.stage_id, self.final_stage)

    def _take_the_call_stage(self, stage_value):
        """Another process takes the standard process's call stage by
        writing ``stage_value`` (given the other process) to its stages; the
        collection waiting for the call gets its own ladder's next stage."""
        reminded, waiting = self._follow_standard_process()
        other = self.env["collection.process"].create(
            {
                "name": "Key accounts",
                "stage_ids": [
                    Command.create({"name": "Courtesy call", "delay_days": 5, "create_activity": True})
                ],
            }
        )
        with self._at(days(4)):
            other.with_user(self.collections_manager).write({"stage_ids": stage_value(other)})
        self.assertEqual(self.call_stage.process_id, other)
        self.assertEqual(
            (reminded.next_stage_id, reminded.next_action_date),
            (self.final_stage, days(30)),
            "the next stage of its own process, on its day",
        )
        self.assertEqual(len(self._replanned_events(reminded)), 1)
        self.assertEqual((waiting.next_stage_id, waiting.next_action_date), (self.reminder_stage, days(6)))
        self.assertIn(
            "1 running collection(s) planned again", str(self.standard_process.message_ids[:1].body)
        )

    def test_a_stage_another_process_links_leaves_its_collections_a_plan(self):
        self._take_the_call_stage(lambda other: [Command.link(self.call_stage.id)])

    def test_a_stage_another_process_sets_leaves_its_collections_a_plan(self):
        self._take_the_call_stage(lambda other: [Command.set((other.stage_ids | self.call_stage).ids)])

    def test_a_stage_another_process_lists_by_id_leaves_its_collections_a_plan(self):
        self._take_the_call_stage(lambda other: (other.stage_ids | self.call_stage).ids)

    def test_a_stage_its_process_moves_to_another_leaves_its_collections_a_plan(self):
        reminded, _waiting = self._follow_standard_process()
        other = self.env["collection.process"].create(
            {
                "name": "Key accounts",
                "stage_ids": [
                    Command.create({"name": "Courtesy call", "delay_days": 5, "create_activity": True})
                ],
            }
        )
        with self._at(days(4)):
            self.standard_process.with_user(self.collections_manager).write(
                {"stage_ids": [Command.update(self.call_stage.id, {"process_id": other.id})]}
            )
        self.assertEqual(self.call_stage.process_id, other)
        self.assertEqual((reminded.next_stage_id, reminded.next_action_date), (self.final_stage, days(30)))

    def test_a_paused_collection_gets_the_new_date_of_its_next_stage(self):
        reminded, _waiting = self._follow_standard_process()
        with self._at(days(3)):
            reminded.action_pause()
        with self._at(days(20)):
            self.call_stage.with_user(self.collections_manager).delay_days = 4
        self.assertEqual((reminded.state, reminded.next_action_date), ("paused", days(7)))
        self.assertEqual(len(self._replanned_events(reminded)), 1)
