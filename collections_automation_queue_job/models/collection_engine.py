import logging
import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.addons.collections_automation.models.collection_engine import STATISTICS_REFRESH_ROWS
from odoo.addons.queue_job.delay import group
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

BATCH_JOB_METHOD = "_job_run_due_batch"
# States of a batch job that has not finished: it holds, or will take, due work.
OPEN_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
# A batch job takes seconds: one still waiting after this long means that no
# job runner serves the database (queue_job installed, its runner not
# configured), and the scheduled action runs the work itself.
STALLED_QUEUE_AFTER = timedelta(hours=1)


class CollectionEngine(models.AbstractModel):
    """With queue_job, the engine's scheduled action enrolls what the
    triggers ask for, then splits the due work into jobs of one batch each,
    on the channel ``root.collections``: the job runner hands them to every
    worker of every server that serves the database.

    A job takes its batch as the cron does (``FOR UPDATE SKIP LOCKED``) and
    every stage action keeps its once-only key, so jobs run side by side
    without sharing a row, and a job killed in the middle rolls back whole:
    the runner requeues it and the rerun repeats nothing."""

    _inherit = "collection.engine"

    @api.model
    def _cron_run(self, limit=None):
        if not self._dispatches_to_jobs():
            return super()._cron_run(limit=limit)
        if self._queue_is_stalled():
            _logger.warning(
                "collections: batch jobs have waited over %s, is queue_job's runner running? "
                "The scheduled action runs the due work itself.",
                STALLED_QUEUE_AFTER,
            )
            return super()._cron_run(limit=limit)
        limit = limit or self._get_batch_size()
        enrolled, to_enroll = self._start_run()
        if to_enroll:
            return None  # out of time: the scheduled action runs again at once
        self._enqueue_due_batches(limit, enrolled=enrolled)
        return None

    @api.model
    def _dispatches_to_jobs(self):
        """Only the engine's scheduled action goes through the queue. A run
        asked from Python or RPC stays in its caller's transaction, as
        without queue_job: its caller expects the work done when it returns."""
        cron = self.env.ref("collections_automation.ir_cron_collection_engine", raise_if_not_found=False)
        return bool(cron) and self.env.context.get("cron_id") == cron.id

    @api.model
    def _queue_is_stalled(self):
        waiting = self._get_open_batch_jobs_domain() & Domain("state", "in", ("pending", "enqueued"))
        since = fields.Datetime.now() - STALLED_QUEUE_AFTER
        # sudo: the queue's own bookkeeping rows (see _enqueue_due_batches).
        return bool(
            self.env["queue.job"].sudo().search_count(waiting & Domain("date_created", "<", since), limit=1)
        )

    @api.model
    def _get_open_batch_jobs_domain(self):
        return (
            Domain("model_name", "=", self._name)
            & Domain("method_name", "=", BATCH_JOB_METHOD)
            & Domain("state", "in", OPEN_JOB_STATES)
        )

    @api.model
    def _enqueue_due_batches(self, limit, enrolled=0):
        """Split the due work into jobs, one per partition of the customers
        (by id), as many partitions as batches; return how many jobs. While
        jobs of an earlier run are unfinished, queue none: they take the
        work of their partitions, and two sets of partitions would let two
        jobs share a customer."""
        # sudo: counting the queue's own bookkeeping rows; the engine's user
        # need not be a job queue manager.
        if self.env["queue.job"].sudo().search_count(self._get_open_batch_jobs_domain(), limit=1):
            return 0
        due = self.env["collection.enrollment"].search_count(self._get_due_domain())
        count = math.ceil(due / limit)
        if not count:
            return 0
        batches = group(*(self._prepare_batch_job(limit, [index, count]) for index in range(count)))
        if due + enrolled >= STATISTICS_REFRESH_ROWS:
            # As the cron does after a large run (see _refresh_statistics),
            # once every batch job of this run is done.
            batches.on_done(
                self.delayable(
                    description=self.env._("Collections: refresh the planner statistics")
                )._refresh_statistics()
            )
        batches.delay()
        _logger.info("collections: %s due, %s job(s) of about %s enqueued", due, count, limit)
        return count

    @api.model
    def _prepare_batch_job(self, limit, partition):
        return self.delayable(
            description=self.env._(
                "Collections: run due stage actions, customers %(index)s modulo %(count)s",
                index=partition[0],
                count=partition[1],
            )
        )._job_run_due_batch(limit, partition)

    @api.model
    def _has_due_work(self, limit, partition):
        """Whether the partition's next batch would find work due on its
        company's day; work due tomorrow there, which the due query already
        reaches late in the UTC day, is the next run's."""
        rows = self.env.execute_query(
            self._get_due_query(partition, order="next_action_date, id", limit=limit).select()
        )
        return bool(self._filter_due_now(self.env["collection.enrollment"].browse(row[0] for row in rows)))

    @api.model
    def _job_run_due_batch(self, limit, partition):
        """One job of the queue: run one batch of the due work of its
        partition of the customers. A conflict with another worker raises
        ``SerializationFailure``, which queue_job retries a few seconds
        later."""
        batch = self._lock_due_batch(limit, partition)
        if not batch:
            return "nothing due"
        before = self._get_progress_marks(batch)
        self._run_batch(batch)
        if self._get_progress_marks(batch) != before and self._has_due_work(limit, partition):
            # More due work in the partition (a batch's worth more, or a
            # collection due again for its next stage): the same job again,
            # after this one commits. The cron loops instead.
            self._prepare_batch_job(limit, partition).delay()
        return f"{len(batch)} collection(s) run"
