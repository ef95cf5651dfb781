from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import format_date

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestProcessDesigner(CollectionsCommon):
    """The process form as a designer: the timeline preview and how many
    invoices the triggers would enroll."""

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
