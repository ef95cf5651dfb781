from markupsafe import Markup

from odoo.tests import tagged

from .common import ADDON, DAY_0, CollectionsCommon, days

# What a posted email's message and notification must share with message_post's.
MESSAGE_FIELDS = [
    "model",
    "message_type",
    "subtype_id",
    "author_id",
    "subject",
    "body",
    "email_from",
    "reply_to",
    "partner_ids",
]
NOTIFICATION_FIELDS = ["res_partner_id", "author_id", "notification_type", "notification_status", "is_read"]


@tagged("post_install", "-at_install")
class TestMailBatch(CollectionsCommon):
    """The door to Odoo's mail internals (models/mail_batch.py) does for a
    batch what Odoo's public path does for one record: the same email as
    ``send_mail``, the same message, mail and notifications as
    ``message_post``, the same tracking as a tracked ``write``. When an Odoo
    update changes an internal the door uses, these tests fail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.Batch = cls.env["collection.mail.batch"]
        cls.template = cls.env.ref(f"{ADDON}.mail_template_overdue")
        cls.subtype = cls.env.ref(f"{ADDON}.mail_message_subtype_collection_reminder")
        partners = cls.env["res.partner"].create(
            [
                {"name": "Third & <Co>", "email": "third@example.com", "lang": "fr_FR"},
                {"name": "Fourth Ltd", "email": "fourth@example.com"},
            ]
        )
        cls.invoices = cls.env["account.move"].concat(
            *(
                cls._create_invoice(amount=100 + index, partner=partner)
                for index, partner in enumerate([cls.customer, partners[0], partners[1], partners[0]])
            )
        )

    def setUp(self):
        super().setUp()
        with self._at(DAY_0):
            self.enrollments = self.invoices.collection_enroll(process_id=self.standard_process.id)
        # As if committed: Odoo tracks no change of a record created in the
        # same transaction.
        self.env.cr.precommit.run()
        self.env.flush_all()

    def _send_mail_values(self, enrollments):
        """What ``send_mail`` makes of the template for each collection:
        {collection id: outgoing mail}."""
        mails = self.env["mail.mail"]
        for enrollment in enrollments:
            mails |= mails.browse(self.template.send_mail(enrollment.id))
        return {mail.res_id: mail for mail in mails}

    def test_an_email_is_rendered_and_wrapped_as_send_mail_makes_it(self):
        enrollments = self.enrollments
        with self._at(days(3)):
            rendered = self.Batch._render_template(
                self.template, enrollments.ids, ("subject", "body_html", "email_from", "email_to")
            )
            bodies = [rendered[enrollment.id]["body_html"] for enrollment in enrollments]
            wrapped = self.Batch._wrap_in_layouts(
                [self.template] * len(enrollments),
                list(enrollments),
                bodies,
                lambda lang, company: {
                    "company": company,
                    "model_description": self.env["ir.model"]
                    ._get(enrollments._name)
                    .with_context(lang=lang)
                    .display_name,
                },
            )
            odoo = self._send_mail_values(enrollments)
        self.assertEqual(len(odoo), len(enrollments))
        for enrollment, body in zip(enrollments, wrapped, strict=True):
            mail = odoo[enrollment.id]
            self.assertEqual(str(body), str(mail.body_html), enrollment.partner_id.name)
            self.assertEqual(rendered[enrollment.id]["subject"], mail.subject)
            self.assertIn(enrollment.name.replace("/", "-"), str(body))
        self.assertIn("Third &amp; &lt;Co&gt;", str(wrapped[1]))

    def test_a_posted_email_is_what_message_post_makes(self):
        """Message, outgoing mail and notifications match field by field,
        but for what the engine decides otherwise: its outgoing mails are
        kept (auto_delete off) and carry the template's layout."""
        ours_on, odoo_on = self.enrollments[:2]
        customer = self.customer
        payload = {
            "subject": "Invoice overdue",
            "body": "<p>Please pay.</p>",
            "email_from": "ar@example.com",
            "reply_to": "collections@example.com",
            "partner_ids": customer.ids,
        }
        [ours] = self.Batch._post_emails(ours_on, [payload], ["<p>Please pay.</p>"], {}, self.subtype)
        odoo = odoo_on.message_post(
            author_id=self.env.user.partner_id.id,
            subject=payload["subject"],
            body=Markup(payload["body"]),
            email_from=payload["email_from"],
            reply_to=payload["reply_to"],
            partner_ids=payload["partner_ids"],
            subtype_id=self.subtype.id,
            message_type="comment",
        )
        self.env.flush_all()
        self._assert_same(ours, odoo, MESSAGE_FIELDS)
        self.assertEqual((ours.res_id, ours.record_name), (ours_on.id, ours_on.display_name))
        mails = {
            message: self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
            for message in (ours, odoo)
        }
        for mail in mails.values():
            self.assertEqual(len(mail), 1)
        self._assert_same(mails[ours], mails[odoo], ["state", "is_notification", "recipient_ids"])
        self.assertFalse(mails[ours].auto_delete, "the engine keeps what it sent")
        for message in (ours, odoo):
            self.assertEqual(message.notification_ids.mail_mail_id, mails[message])
        self._assert_same(ours.notification_ids, odoo.notification_ids, NOTIFICATION_FIELDS)

    def _assert_same(self, ours, odoos, field_names):
        """``ours`` and Odoo's own record hold the same ``field_names``."""
        self.assertEqual(ours.read(field_names)[0] | {"id": 0}, odoos.read(field_names)[0] | {"id": 0})

    def test_a_logged_write_tracks_as_odoos_tracking_does(self):
        """The note the door logs with a write carries the tracking values
        that Odoo's tracking logs for the same change."""
        ours_on, odoo_on = self.enrollments[:2]
        values = {"state": "escalated", "next_stage_id": False, "next_action_date": False}
        tracked_before = {
            enrollment: enrollment.read(["state", "next_stage_id", "next_action_date"])
            for enrollment in (ours_on, odoo_on)
        }
        self.assertEqual(tracked_before[ours_on][0]["state"], tracked_before[odoo_on][0]["state"])
        self.Batch._write_and_log(ours_on, values, {ours_on.id: "Escalated."})
        # The test case's context turns Odoo's tracking off.
        odoo_on.with_context(tracking_disable=False).write(values)
        # Odoo logs the tracked changes when the transaction commits.
        self.env.cr.precommit.run()
        self.env.flush_all()
        self.env.invalidate_all()

        def tracking(enrollment):
            # Tracking values are for administrators to read.
            messages = enrollment.sudo().message_ids.filtered("tracking_value_ids")
            self.assertEqual(len(messages), 1)
            return sorted(
                (value.field_id.name, value.old_value_char, value.new_value_char, value.old_value_datetime)
                for value in messages.tracking_value_ids
            )

        self.assertEqual(tracking(ours_on), tracking(odoo_on))
        self.assertIn("state", [name for name, *_rest in tracking(ours_on)])
        self.assertIn("Escalated.", str(ours_on.sudo().message_ids.filtered("tracking_value_ids").body))

    def test_a_batch_of_notes_is_what_message_log_makes(self):
        ours_on, odoo_on = self.enrollments[:2]
        [ours] = self.Batch._log_notes(ours_on, {ours_on.id: "Reminder sent with C/1."})
        odoo = odoo_on._message_log(body="Reminder sent with C/1.")
        note_fields = ["model", "message_type", "subtype_id", "author_id", "body", "is_internal"]
        self.assertEqual(ours.read(note_fields)[0] | {"id": 0}, odoo.read(note_fields)[0] | {"id": 0})
        self.assertEqual(ours.res_id, ours_on.id)
