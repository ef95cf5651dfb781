from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.addons.collections_automation.tests.common import DAY_0, CollectionsCommon
from odoo.addons.queue_job.job import Job
from odoo.tests import tagged

from ..models import collection_engine

REMINDER_DAY = DAY_0 + timedelta(days=3)


@tagged("post_install", "-at_install")
class TestQueueJobEngine(CollectionsCommon):
    """The engine's scheduled action with queue_job: jobs of one batch each,
    run here one after the other as the runner's workers would."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("collections_automation.ir_cron_collection_engine")
        cls.engine = cls.env["collection.engine"]

    def _enroll(self, count, process=None, invoices_per_customer=1):
        customers = self.env["res.partner"].create(
            [{"name": f"Customer {n}", "email": f"ap{n}@example.com"} for n in range(count)]
        )
        invoices = self.env["account.move"].concat(
            *(
                self._create_invoice(amount=100 + n, partner=customer)
                for customer in customers
                for n in range(invoices_per_customer)
            )
        )
        with self._at(DAY_0):
            return invoices.collection_enroll(process_id=(process or self.standard_process).id)

    def _scheduled_run(self, day=REMINDER_DAY, limit=2):
        with self._at(day):
            self.engine.with_context(cron_id=self.cron.id)._cron_run(limit=limit)
            self.env.flush_all()

    def _batch_jobs(self, states=("pending", "enqueued")):
        # sudo: the queue's rows are its managers' to read; the tests look
        # at them as the runner does.
        return (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("model_name", "=", "collection.engine"),
                    ("method_name", "=", "_job_run_due_batch"),
                    ("state", "in", states),
                ],
                order="id",
            )
        )

    def _perform(self, job_record, day=REMINDER_DAY):
        """What a worker does with a job the runner hands it."""
        job = Job.load(self.env, job_record.uuid)
        with self._at(day):
            job.set_started()
            job.store()
            job.perform()
            job.set_done()
            job.store()
            self.env.flush_all()
        return job.result

    def _perform_until_none_waits(self, day=REMINDER_DAY):
        performed = 0
        while jobs := self._batch_jobs():
            for job_record in jobs:
                self._perform(job_record, day)
                performed += 1
        return performed

    def test_the_scheduled_action_enqueues_one_job_per_batch_on_the_collections_channel(self):
        enrollments = self._enroll(5)
        self._scheduled_run(limit=2)
        jobs = self._batch_jobs()
        self.assertEqual(len(jobs), 3, "five due collections in batches of two")
        self.assertEqual(set(jobs.mapped("channel")), {"root.collections"})
        self.assertEqual(sorted(job.args[1] for job in jobs), [[0, 3], [1, 3], [2, 3]])
        self.assertFalse(self._reminders(enrollments), "the scheduled action itself sends nothing")
        self._perform_until_none_waits()
        reminders = self._reminders(enrollments)
        self.assertEqual(len(reminders), 5)
        self.assertEqual(set(reminders.mapped("res_id")), set(enrollments.ids))
        self.assertEqual(set(enrollments.mapped("stage_id")), {self.reminder_stage})

    def test_partitions_share_no_customer_and_keep_each_customers_invoices_together(self):
        self.standard_process.consolidate = True
        enrollments = self._enroll(5, invoices_per_customer=3)
        taken = self.env["collection.enrollment"]
        with self._at(REMINDER_DAY):
            for index in range(3):
                batch = self.engine._lock_due_batch(100, [index, 3])
                self.assertEqual({partner.id % 3 for partner in batch.partner_id} - {index}, set())
                for partner in batch.partner_id:
                    self.assertEqual(
                        batch.filtered(lambda e, p=partner: e.partner_id == p),
                        (enrollments.filtered(lambda e, p=partner: e.partner_id == p)),
                    )
                taken |= batch
        self.assertEqual(taken, enrollments)

    def test_a_partition_larger_than_a_batch_runs_in_several_jobs_one_email_per_customer(self):
        self.standard_process.consolidate = True
        enrollments = self._enroll(4, invoices_per_customer=3)
        self._scheduled_run(limit=4)
        self.assertEqual(len(self._batch_jobs()), 3, "twelve due collections in batches of four")
        self._perform_until_none_waits()
        reminders = self._reminders(enrollments)
        self.assertEqual(len(reminders), 4, "one email per customer")
        self.assertEqual(set(enrollments.mapped("stage_id")), {self.reminder_stage})

    def test_a_second_scheduled_run_queues_no_job_for_work_already_queued(self):
        self._enroll(5)
        self._scheduled_run(limit=2)
        self._scheduled_run(limit=2)
        self.assertEqual(len(self._batch_jobs()), 3)
        self._perform_until_none_waits()
        self._scheduled_run(limit=2)
        self.assertFalse(self._batch_jobs(), "nothing is due any more")

    def test_a_job_performed_again_repeats_nothing(self):
        enrollments = self._enroll(2)
        self._scheduled_run(limit=2)
        job_record = self._batch_jobs()
        self.assertEqual(self._perform(job_record), "2 collection(s) run")
        # As the runner would, had the worker died after committing but before reporting.
        job_record.state = "pending"
        self.assertEqual(self._perform(job_record), "nothing due")
        self.assertEqual(len(self._reminders(enrollments)), 2)
        self.assertEqual(len(enrollments.event_ids.filtered(lambda e: e.stage_id == self.reminder_stage)), 2)

    def test_a_run_asked_from_python_stays_in_the_callers_transaction(self):
        enrollments = self._enroll(3)
        with self._at(REMINDER_DAY):
            self.engine._cron_run(limit=2)
        self.assertEqual(len(self._reminders(enrollments)), 3)
        self.assertFalse(self._batch_jobs(("pending", "enqueued", "started", "done")))

    def test_a_collection_due_twice_in_one_run_gets_one_more_job(self):
        same_day = self.env["collection.process"].create(
            {
                "name": "Reminder then call the same day",
                "user_id": self.collections_manager.id,
                "stage_ids": [
                    fields.Command.create(self._prepare_reminder_stage_values()),
                    fields.Command.create(
                        {
                            "name": "Call",
                            "sequence": 2,
                            "delay_days": 0,
                            "delay_from": "previous_stage",
                            "create_activity": True,
                            "activity_summary": "Call the customer",
                        }
                    ),
                ],
            }
        )
        call_stage = same_day.stage_ids.sorted("sequence")[-1]
        enrollments = self._enroll(2, process=same_day)
        self._scheduled_run(limit=2)
        self.assertEqual(len(self._batch_jobs()), 1)
        self.assertEqual(self._perform_until_none_waits(), 2, "the call ran in a second job")
        self.assertEqual(set(enrollments.mapped("stage_id")), {call_stage})
        self.assertEqual(len(self._reminders(enrollments)), 2)

    def test_work_due_tomorrow_gets_no_job_today(self):
        # At noon UTC it is already tomorrow at UTC+14, where the due query
        # reaches; in Brussels tomorrow's reminder is not due yet.
        due_today, due_tomorrow = self._enroll(2)
        due_tomorrow.next_action_date = REMINDER_DAY + timedelta(days=1)
        self._scheduled_run(limit=2)
        self.assertEqual(self._perform_until_none_waits(), 1, "one job, for today's reminder")
        self.assertEqual(len(self._reminders(due_today)), 1)
        self.assertFalse(self._reminders(due_tomorrow))

    def test_a_large_run_refreshes_the_statistics_after_all_its_batches(self):
        self._enroll(5)
        with patch.object(collection_engine, "STATISTICS_REFRESH_ROWS", 5):
            self._scheduled_run(limit=2)
        batches = self._batch_jobs()
        refresh = self.env["queue.job"].sudo().search([("method_name", "=", "_refresh_statistics")])
        self.assertEqual(len(refresh), 1)
        self.assertEqual(refresh.state, "wait_dependencies")
        self.assertEqual(refresh.channel, "root.collections")
        self.assertEqual(set(refresh.dependencies["depends_on"]), set(batches.mapped("uuid")))

    def test_below_the_threshold_no_statistics_job(self):
        self._enroll(2)
        self._scheduled_run(limit=2)
        self.assertFalse(self.env["queue.job"].sudo().search([("method_name", "=", "_refresh_statistics")]))

    def test_when_no_runner_drains_the_queue_the_scheduled_action_runs_the_work(self):
        enrollments = self._enroll(3)
        self._scheduled_run(limit=2)
        stalled = self._batch_jobs()
        self.assertEqual(len(stalled), 2)
        # The scheduled action commits after each batch; a test keeps its transaction.
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", lambda *_args, **_kwargs: True):
            self._scheduled_run(day=REMINDER_DAY + timedelta(days=1), limit=2)
        self.assertEqual(len(self._reminders(enrollments)), 3, "sent by the scheduled action itself")
        self.assertEqual(self._batch_jobs(), stalled, "and no more jobs piled up")
        for job_record in stalled:
            self.assertEqual(self._perform(job_record, REMINDER_DAY + timedelta(days=1)), "nothing due")
        self.assertEqual(len(self._reminders(enrollments)), 3)

    def test_jobs_waiting_less_than_an_hour_are_left_to_the_runner(self):
        enrollments = self._enroll(3)
        self._scheduled_run(limit=2)
        with self._at(REMINDER_DAY):
            self.engine.with_context(cron_id=self.cron.id)._cron_run(limit=2)
        self.assertFalse(self._reminders(enrollments))
        self.assertEqual(len(self._batch_jobs()), 2)
