from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import ADDON, CollectionsCommon


@tagged("post_install", "-at_install")
class TestProcessValidation(CollectionsCommon):
    def test_process_without_stage_cannot_be_active(self):
        with self.assertRaisesRegex(ValidationError, "has no stage"):
            self.env["collection.process"].create({"name": "Empty"})
        draft = self.env["collection.process"].create({"name": "Draft", "active": False})
        with self.assertRaisesRegex(ValidationError, "has no stage"):
            draft.active = True
        draft.stage_ids = [fields.Command.create({"name": "Only", "delay_days": 1})]
        draft.active = True
        self.assertTrue(draft.active)

    def test_stage_times_must_not_go_backwards(self):
        # Before the due date is fine when it comes first.
        self.standard_process.stage_ids = [
            fields.Command.create(
                {"name": "Heads-up", "sequence": 0, "delay_days": -5, "delay_from": "due_date"}
            )
        ]
        self.assertEqual(self.standard_process.stage_count, 4)
        with self.assertRaisesRegex(ValidationError, "must not go backwards"):
            self.standard_process.stage_ids = [
                fields.Command.create(
                    {"name": "Too early", "sequence": 9, "delay_days": 10, "delay_from": "due_date"}
                )
            ]
        with self.assertRaisesRegex(ValidationError, "cannot run before the previous stage"):
            self.call_stage.delay_days = -2

    def test_template_for_another_model_is_refused(self):
        invoice_template = self.env.ref("account.email_template_edi_invoice")
        with self.assertRaisesRegex(ValidationError, "made for account.move"):
            self.reminder_stage.mail_template_id = invoice_template
        with self.assertRaisesRegex(ValidationError, "choose its template"):
            self.call_stage.send_email = True

    def test_negative_trigger_days_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.standard_process.grace_days = -1

    def test_stage_form_shows_template_only_for_email(self):
        stage_form = Form(
            self.env["collection.stage"].with_context(default_process_id=self.standard_process.id)
        )
        stage_form.name = "Second reminder"
        stage_form.delay_days = 45
        stage_form.send_email = True
        stage_form.mail_template_id = self.env.ref(f"{ADDON}.mail_template_overdue")
        stage = stage_form.save()
        self.assertEqual(stage.action_summary, "Email")
