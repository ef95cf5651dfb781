from datetime import timedelta

from odoo.tests import Form, tagged
from odoo.tools import format_date

from .common import DAY_0, CollectionsCommon


def days(count):
    return DAY_0 + timedelta(days=count)


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
                [("Reminder", days(3), False), ("Call", days(10), False), ("Final notice", days(30), False)],
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

    def test_the_timeline_is_what_the_engine_does(self):
        invoice = self._create_invoice(due_date=DAY_0)
        self.standard_process.preview_invoice_id = invoice
        with self._at(days(12)):
            expected = {
                stage: day for stage, day, skipped in self.standard_process._get_timeline() if not skipped
            }
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        for day in range(12, 32):
            self._run_engine(days(day))
        ran = {}
        for event in enrollment.event_ids.sorted("id"):
            if event.action in ("email", "activity", "letter"):
                ran.setdefault(event.stage_id, event.date.date())
        self.assertEqual(ran, expected)
