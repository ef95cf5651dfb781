from datetime import timedelta

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import DAY_0, CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsSettings(CollectionsCommon):
    """The Collections block of the Invoicing settings, and what each
    setting changes."""

    def _settings(self, **values):
        settings = Form(self.env["res.config.settings"])
        for name, value in values.items():
            setattr(settings, name, value)
        settings.save().execute()

    def test_the_settings_are_the_companys(self):
        self._settings(
            collection_default_process_id=self.standard_process,
            collection_grace_days=9,
            collection_email_from="AR Team <ar@example.com>",
            collection_reply_to="disputes@example.com",
            collection_auto_enroll=False,
        )
        company = self.env.company
        self.assertEqual(company.collection_default_process_id, self.standard_process)
        self.assertEqual(company.collection_grace_days, 9)
        self.assertEqual(company.collection_email_from, "AR Team <ar@example.com>")
        self.assertEqual(company.collection_reply_to, "disputes@example.com")
        self.assertFalse(company.collection_auto_enroll)

    def test_new_processes_take_the_default_grace_period(self):
        self._settings(collection_grace_days=12)
        process = Form(self.env["collection.process"])
        self.assertEqual(process.grace_days, 12)

    def test_new_processes_take_the_default_retry_schedule(self):
        self._settings(collection_retry_schedule="2, 5, 9")
        process = Form(self.env["collection.process"])
        self.assertEqual(process.retry_schedule, "2, 5, 9")
        process.name = "Cards"
        with process.stage_ids.new() as stage:
            stage.name = "Retry"
            stage.retry_payment = True
        self.assertEqual(process.save()._get_retry_waits(), [2, 5, 9])

    def test_a_malformed_retry_schedule_is_refused(self):
        for schedule in ("3 days", "0", "3, -1", "61", ",".join(["1"] * 11)):
            with self.subTest(schedule=schedule), self.assertRaises(ValidationError) as refusal:
                self._settings(collection_retry_schedule=schedule)
            self.assertIn("retry schedule", str(refusal.exception))
            with self.subTest(schedule=schedule), self.assertRaises(ValidationError):
                self.standard_process.retry_schedule = schedule
        self.assertEqual(self.env.company.collection_retry_schedule, "3, 7", "unchanged")
        self.standard_process.retry_schedule = ""
        self.assertEqual(self.standard_process._get_retry_waits(), [], "empty: no new attempt")

    def test_the_default_sender_signs_reminders_when_the_process_sets_none(self):
        self._settings(
            collection_email_from="AR Team <ar@example.com>", collection_reply_to="ar-replies@example.com"
        )
        invoice = self._create_invoice()
        with self._at(DAY_0):
            enrollment = invoice.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(DAY_0 + timedelta(days=3))
        reminder = self._reminders(enrollment)
        self.assertEqual(
            (reminder.email_from, reminder.reply_to), ("AR Team <ar@example.com>", "ar-replies@example.com")
        )
        self.standard_process.email_from = "Credit Control <cc@example.com>"
        second = self._create_invoice()
        with self._at(DAY_0):
            other = second.collection_enroll(process_id=self.standard_process.id)
        self._run_engine(DAY_0 + timedelta(days=4))
        self.assertEqual(
            self._reminders(other).email_from, "Credit Control <cc@example.com>", "the process wins"
        )

    def test_automatic_enrollment_can_be_switched_off(self):
        self.standard_process.write({"auto_enroll_overdue": True, "grace_days": 2})
        self._settings(collection_default_process_id=self.standard_process, collection_auto_enroll=False)
        invoice = self._create_invoice()
        self._run_engine(DAY_0 + timedelta(days=5))
        self.assertFalse(invoice.collection_enrollment_ids, "off: the engine enrolls nothing by itself")
        self._settings(collection_auto_enroll=True)
        self._run_engine(DAY_0 + timedelta(days=6))
        self.assertEqual(invoice.collection_enrollment_ids.process_id, self.standard_process)
