"""The engine on committed data, with real transactions: two workers never
run one action twice, and a crash in the middle of a run loses nothing and
repeats nothing when the next run comes."""

from contextlib import closing
from datetime import datetime, time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.fields import Command
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name

from .common import days, frozen_clock

ADDON = "collections_automation"
ENROLLMENTS = 20
CONTACT_POLICY_OFF = {
    "collection_contact_max_per_day": 0,
    "collection_contact_max_per_week": 0,
    "collection_quiet_days": False,
}


class WorkerCrash(BaseException):
    """Stands for the death of a worker process: nothing catches it."""


@tagged("post_install", "-at_install")
class TestEngineConcurrency(BaseCase):
    def setUp(self):
        super().setUp()
        # Every run counts its day from this Wednesday noon, whatever the
        # machine's clock says (a run near midnight would see two days).
        for patcher in frozen_clock(datetime.combine(days(2), time(12))):
            self.startPatcher(patcher)
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # One email per enrollment, whatever the day: the contact policy
            # is tested on its own.
            self.contact_policy = env.company.read(list(CONTACT_POLICY_OFF))[0]
            env.company.write(CONTACT_POLICY_OFF)
            partner = env["res.partner"].create(
                {"name": "Concurrent Customer", "email": "ap@concurrent.example.com"}
            )
            process = env["collection.process"].create(
                {
                    "name": "Concurrency check",
                    "stage_ids": [
                        Command.create(
                            {
                                "name": "Reminder",
                                "delay_days": 0,
                                "delay_from": "enrollment",
                                "send_email": True,
                                "mail_template_id": env.ref(f"{ADDON}.mail_template_overdue").id,
                            }
                        ),
                        Command.create({"name": "Later", "delay_days": 30, "delay_from": "enrollment"}),
                    ],
                }
            )
            enrollments = env["collection.enrollment"].create(
                [
                    {
                        "partner_id": partner.id,
                        "process_id": process.id,
                        "currency_id": env.company.currency_id.id,
                        "amount_due_at_enrollment": 100.0 + index,
                        "reference": f"EXT-{index}",
                    }
                    for index in range(ENROLLMENTS)
                ]
            )
            self.partner_id, self.process_id, self.enrollment_ids = partner.id, process.id, enrollments.ids
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            messages = env["mail.message"].search(
                [("model", "=", "collection.enrollment"), ("res_id", "in", self.enrollment_ids)]
            )
            env["mail.mail"].search([("mail_message_id", "in", messages.ids)]).unlink()
            messages.unlink()
            env["collection.enrollment"].browse(self.enrollment_ids).unlink()
            env["collection.process"].browse(self.process_id).unlink()
            env["res.partner"].browse(self.partner_id).unlink()
            env.company.write({field: self.contact_policy[field] for field in CONTACT_POLICY_OFF})

    def _worker(self, **context):
        cr = self.registry.cursor()
        return cr, api.Environment(cr, SUPERUSER_ID, context)["collection.engine"]

    def _count_reminders(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["collection.event"].search(
                [("enrollment_id", "in", self.enrollment_ids), ("action", "=", "email")]
            )
            subtype = env.ref(f"{ADDON}.mail_message_subtype_collection_reminder")
            messages = env["mail.message"].search_count(
                [
                    ("model", "=", "collection.enrollment"),
                    ("res_id", "in", self.enrollment_ids),
                    ("subtype_id", "=", subtype.id),
                ]
            )
            per_enrollment = dict.fromkeys(self.enrollment_ids, 0)
            for event in events:
                per_enrollment[event.enrollment_id.id] += 1
            return per_enrollment, messages

    def test_two_workers_never_duplicate(self):
        cr_one, engine_one = self._worker()
        cr_two, engine_two = self._worker()
        with closing(cr_one), closing(cr_two):
            held = engine_one._take_due_batch(5)
            self.assertEqual(len(held), 5)
            # The second worker runs while the first holds its batch: it
            # skips the locked rows and does all the rest.
            engine_two._cron_run(limit=5)
            cr_two.commit()
            per_enrollment, _messages = self._count_reminders()
            self.assertEqual(sum(per_enrollment.values()), ENROLLMENTS - 5)
            self.assertTrue(all(per_enrollment[enrollment.id] == 0 for enrollment in held))
            engine_one._run_batch(held)
            # Still in its first transaction, the first worker meets rows the
            # second changed since: it leaves them alone instead of failing.
            engine_one._cron_run(limit=5)
            cr_one.commit()
        per_enrollment, messages = self._count_reminders()
        self.assertEqual(set(per_enrollment.values()), {1}, "every reminder sent exactly once")
        self.assertEqual(messages, ENROLLMENTS)

    def test_crash_mid_run_then_rerun_loses_and_repeats_nothing(self):
        email_class = self.registry["collection.stage.action.email"]
        original = email_class._post_emails
        calls = []

        def crashing_post(handler, groups):
            calls.append(len(groups))
            if len(calls) == 3:
                raise WorkerCrash
            return original(handler, groups)

        # A cron run commits its progress after every batch of five.
        cr, engine = self._worker(cron_id=-1)
        with closing(cr), patch.object(email_class, "_post_emails", crashing_post):
            with self.assertRaises(WorkerCrash):
                engine._cron_run(limit=5)
            cr.rollback()
        per_enrollment, messages = self._count_reminders()
        self.assertEqual(sum(per_enrollment.values()), 10, "the two committed batches stay done")
        self.assertEqual(messages, 10)
        cr, engine = self._worker(cron_id=-1)
        with closing(cr):
            engine._cron_run(limit=5)
            # A worker ends its run; the committed data is removed in cleanup.
            cr.commit()  # pylint: disable=invalid-commit
        per_enrollment, messages = self._count_reminders()
        self.assertEqual(set(per_enrollment.values()), {1}, "the rerun finished the work, repeating nothing")
        self.assertEqual(messages, ENROLLMENTS)
