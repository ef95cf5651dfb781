import logging
import uuid
from collections import defaultdict
from datetime import timedelta

from psycopg2.errors import SerializationFailure, UniqueViolation

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# A batch is one transaction: 500 actions take about 1.6 s here (see docs/benchmarks.md).
DEFAULT_BATCH_SIZE = 500
# A run that enrolled or advanced this many collections refreshes the planner
# statistics of the tables it grew (see _refresh_statistics).
STATISTICS_REFRESH_ROWS = 1000
BACKOFF_BASE_MINUTES = 15
BACKOFF_MAX_MINUTES = 24 * 60


class CollectionEngine(models.AbstractModel):
    """Runs the collection processes: the scheduled action
    ``ir_cron_collection_engine`` calls ``_cron_run``.

    Safe with several workers: each batch is taken with ``FOR UPDATE SKIP
    LOCKED``, so two workers never hold the same enrollment, and each stage
    action writes a unique key (a ``collection.event``) in the transaction
    of its effect, so a crash and a rerun never repeat it."""

    _name = "collection.engine"
    _description = "Collection Engine"

    @api.model
    def _get_batch_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param("collections_automation.batch_size")
        return int(param or DEFAULT_BATCH_SIZE)

    @api.model
    def _cron_run(self, limit=None):
        """Enroll what the triggers ask for, end expired pauses, then run
        every stage action due today, batch after batch."""
        limit = limit or self._get_batch_size()
        processed, to_enroll = self._start_run()
        if to_enroll:
            return  # out of time: the scheduled action runs again at once
        processed += self._run_due_batches(limit)
        if processed >= STATISTICS_REFRESH_ROWS:
            self._refresh_statistics()

    @api.model
    def _start_run(self):
        """What a run does before the due stage actions; returns how many
        collections it enrolled and how many invoices at least it left to
        enroll, its time up (then it does nothing more)."""
        enrolled, to_enroll = self._auto_enroll()
        if not to_enroll:
            self._end_expired_pauses()
            self._apply_holds()
        return enrolled, to_enroll

    @api.model
    def _run_due_batches(self, limit):
        """Run the due stage actions batch after batch, committing after each
        one in the scheduled action; returns how many collections ran."""
        in_cron = bool(self.env.context.get("cron_id"))
        processed = 0
        while batch := self._take_due_batch(limit):
            before = self._get_progress_marks(batch)
            self._run_batch(batch)
            processed += len(batch)
            if self._get_progress_marks(batch) == before:
                # Nothing moved (every row stuck): stop rather than spin; the
                # next run starts afresh. A row that runs two stages in one
                # run is progress, and comes back in the next batch.
                _logger.warning("collections: batch %s made no progress, ending this run", batch.ids)
                break
            if in_cron:
                remaining = self.env["collection.enrollment"].search_count(self._get_due_domain())
                if not self.env["ir.cron"]._commit_progress(len(batch), remaining=remaining):
                    break
            else:
                self.env.flush_all()
        return processed

    @api.model
    def _refresh_statistics(self):
        """Measured: right after a first run of 10,000 reminders, the KPI
        screen took 24 s instead of 0.05 s. PostgreSQL's statistics still
        said no event had a stage, so it joined the run's events with
        themselves row by row; autovacuum refreshes them only later, and on
        a large table only after many runs. ANALYZE takes a sample (tens
        of milliseconds) and keeps every later query on a good plan."""
        self.env.flush_all()
        self.env.cr.execute(SQL("ANALYZE collection_event, collection_enrollment"))

    @api.model
    def _get_progress_marks(self, enrollments):
        """What running a batch changes when it does anything."""
        self.env.flush_all()
        enrollments.invalidate_recordset(
            ["state", "stage_id", "next_stage_id", "next_action_date", "backoff_until"]
        )
        return [
            (e.id, e.state, e.stage_id.id, e.next_stage_id.id, e.next_action_date, e.backoff_until)
            for e in enrollments
        ]

    # ------------------------------------------------------------------
    # Taking work
    # ------------------------------------------------------------------

    @api.model
    def _get_horizon_date(self):
        """The latest calendar day anywhere: the latest time zone on earth is
        14 hours ahead of UTC. A date that has come in some company's time
        zone is at most this; the exact company day is checked per record."""
        return fields.Date.context_today(self.with_context(tz="Pacific/Kiritimati"))

    @api.model
    def _get_due_domain(self):
        Enrollment = self.env["collection.enrollment"]
        return Enrollment._get_due_domain(self._get_horizon_date()) & (
            Domain("backoff_until", "=", False) | Domain("backoff_until", "<=", fields.Datetime.now())
        )

    @api.model
    def _get_due_query(self, partition=None, order=None, limit=None):
        query = self.env["collection.enrollment"]._search(self._get_due_domain(), order=order, limit=limit)
        if partition:
            index, count = partition
            query.add_where(SQL("%s %% %s = %s", SQL.identifier(query.table, "partner_id"), count, index))
        return query

    @api.model
    def _take_due_batch(self, limit):
        """Lock and return up to ``limit`` due enrollments that no other
        worker holds."""
        try:
            return self._lock_due_batch(limit)
        except SerializationFailure:
            # Another worker changed due rows after this transaction began
            # (Odoo's transactions are REPEATABLE READ): they are its work,
            # or the next run's.
            _logger.info("collections: due enrollments changed by another worker, ending this run")
            return self.env["collection.enrollment"]

    @api.model
    def _lock_due_batch(self, limit, partition=None):
        """As ``_take_due_batch``, but a conflict with another worker raises
        ``SerializationFailure``, for a caller that retries. ``partition``
        ``(index, count)`` keeps to the customers whose id modulo ``count`` is
        ``index``: workers given distinct partitions never share a customer,
        so a customer's consolidated email never splits between them."""
        Enrollment = self.env["collection.enrollment"]
        query = self._get_due_query(partition, order="next_action_date, id", limit=limit)
        self.env.flush_all()
        with self.env.cr.savepoint(flush=False):
            rows = self.env.execute_query(SQL("%s FOR UPDATE SKIP LOCKED", query.select()))
        enrollments = self._add_consolidated_siblings(Enrollment.browse(row[0] for row in rows))
        # Another worker may have run these rows and committed between our
        # query plan and the lock: read them again.
        enrollments.invalidate_recordset()
        return self._filter_due_now(enrollments)

    @api.model
    def _filter_due_now(self, enrollments):
        """The due query reaches the latest calendar day on earth
        (``_get_horizon_date``): keep what is due on its company's day."""
        return enrollments._filter_due()

    @api.model
    def _add_consolidated_siblings(self, enrollments):
        """``enrollments`` and, for a process that sends one email per
        customer, every other due enrollment of the same customer at the same
        stage, locked too: a customer's invoices never straddle two batches,
        so they get one email per stage, whatever the batch size."""
        consolidating = enrollments.filtered(lambda e: e.process_id.consolidate and e.next_stage_id)
        if not consolidating:
            return enrollments
        siblings = Domain.OR(
            Domain("partner_id", "=", partner.id) & Domain("next_stage_id", "in", stages.ids)
            for partner, stages in self._group_stages_by_partner(consolidating).items()
        )
        query = self.env["collection.enrollment"]._search(
            self._get_due_domain() & siblings & Domain("id", "not in", enrollments.ids), order="id"
        )
        # A conflict propagates: a batch without all its siblings would send
        # the customer a second email for the same stage.
        with self.env.cr.savepoint(flush=False):
            rows = self.env.execute_query(SQL("%s FOR UPDATE SKIP LOCKED", query.select()))
        return enrollments | enrollments.browse(row[0] for row in rows)

    @api.model
    def _group_stages_by_partner(self, enrollments):
        stages_by_partner = defaultdict(lambda: self.env["collection.stage"])
        for enrollment in enrollments:
            stages_by_partner[enrollment.partner_id] |= enrollment.next_stage_id
        return stages_by_partner

    @api.model
    def _run_now(self, enrollments):
        """Run the due stage of ``enrollments`` at once (a user asked): the
        rows are locked like a batch; those another worker holds are left
        to it."""
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM collection_enrollment WHERE id IN %s FOR UPDATE SKIP LOCKED",
                tuple(enrollments.ids),
            )
        )
        locked = enrollments.browse(row[0] for row in rows)
        locked.invalidate_recordset()
        self._apply_holds(locked)
        due = locked._filter_due()
        if due:
            self._run_batch(due)

    # ------------------------------------------------------------------
    # Running a batch
    # ------------------------------------------------------------------

    @api.model
    def _group_batch(self, enrollments):
        """[(stage, enrollments)] to run together: one enrollment each, or
        all of one customer's enrollments at the same stage when the
        process consolidates messages."""
        groups = defaultdict(lambda: self.env["collection.enrollment"])
        for enrollment in enrollments:
            if enrollment._is_retry_rerun(enrollment.next_stage_id):
                key = (enrollment.next_stage_id, enrollment, "retry")
            elif enrollment.process_id.consolidate:
                key = (enrollment.next_stage_id, enrollment.process_id, enrollment.partner_id)
            else:
                key = (enrollment.next_stage_id, enrollment)
            groups[key] |= enrollment
        return [(key[0], group) for key, group in groups.items()]

    @api.model
    def _run_batch(self, enrollments):
        """Run the batch in one go; when anything in it fails, run it again
        group by group, so that the failure stays with its enrollment."""
        by_lang = enrollments._grouped_by_desk_lang()
        if list(by_lang) != [self.env.lang or "en_US"]:
            # What the stages write for the desk is in each company's language.
            for lang, collections in by_lang.items():
                self.with_context(lang=lang)._run_batch(collections)
            return
        groups = self.env["collection.contact.policy"]._filter_groups(self._group_batch(enrollments))
        self._ensure_portal_tokens(enrollments)
        try:
            with self.env.cr.savepoint():
                self._run_groups(groups)
            return
        except Exception:  # noqa: BLE001 -- isolated below, group by group
            _logger.info("collections: a batch of %s groups failed, isolating the failure", len(groups))
            self.env.invalidate_all()
        for stage, group in groups:
            try:
                with self.env.cr.savepoint():
                    self._run_groups([(stage, group)])
            except UniqueViolation:
                # The key held: this action already ran (an earlier run
                # committed it). Its effect exists, so the enrollment moves on.
                _logger.warning("collections: stage %s already ran for %s, moving on", stage.id, group.ids)
                self.env.invalidate_all()
                with self.env.cr.savepoint():
                    self._advance(stage, group)
            except Exception as error:
                _logger.exception("collections: stage %s failed for enrollments %s", stage.id, group.ids)
                self.env.invalidate_all()
                self._record_failure(group, stage, error)

    @api.model
    def _ensure_portal_tokens(self, records):
        """Give the records the portal token their payment link needs, in one
        UPDATE. Measured: through ``write`` an invoice costs five queries of
        recomputations that a technical token does not affect (100 of 138
        queries for 20 first reminders)."""
        missing = records.filtered(lambda record: not record.access_token)
        if not missing:
            return
        rows = SQL(", ").join(SQL("(%s, %s)", record.id, str(uuid.uuid4())) for record in missing)
        table = SQL.identifier(missing._table)
        self.env.cr.execute(
            SQL(
                "UPDATE %(table)s SET access_token = tokens.token "
                "FROM (VALUES %(rows)s) AS tokens(id, token) WHERE %(table)s.id = tokens.id",
                table=table,
                rows=rows,
            )
        )
        missing.invalidate_recordset(["access_token"])

    @api.model
    def _get_stage_action_names(self):
        """The stage actions, in the order they run: each is the handler
        ``collection.stage.action.<name>``."""
        return ["late_charge", "email", "letter", "activity", "payment_retry"]

    @api.model
    def _run_groups(self, groups):
        # The ladder is done and its last deadline passed: escalate.
        self.env["collection.stage.action.escalation"]._escalate(
            [(stage, group) for stage, group in groups if not stage]
        )
        groups = [(stage, group) for stage, group in groups if stage]
        # A new attempt of a softly declined payment retry runs that retry
        # alone: the stage's messages went out on its first run.
        Retry = self.env["collection.stage.action.payment_retry"]
        first_runs = []
        for stage, group in groups:
            if group[0]._is_retry_rerun(stage):
                Retry.run([(stage, group)])
            else:
                first_runs.append((stage, group))
        for name in self._get_stage_action_names():
            self.env[f"collection.stage.action.{name}"].run(first_runs)
        self._advance_many(groups)

    @api.model
    def _advance(self, stage, group):
        """After ``stage`` ran: plan the next stage, or the escalation when
        the ladder is done."""
        self._advance_many([(stage, group)])

    @api.model
    def _advance_many(self, groups):
        """``_advance`` for several (stage, enrollments) at once: the
        enrollments that get the same values are written together (measured:
        one write per enrollment was a tenth of an engine run)."""
        same_values = defaultdict(list)
        escalating_stages = []
        Enrollment = self.env["collection.enrollment"]
        ladder_done = Enrollment
        for stage, group in groups:
            for enrollment in group:
                if enrollment.state != "running":
                    continue  # paid by a payment retry, for instance
                today = enrollment._company_today()
                values = {
                    "stage_id": stage.id,
                    "last_action_date": today,
                    "failure_count": 0,
                    "last_error": False,
                    "backoff_until": False,
                    **self._plan_after_stage(enrollment, stage, today),
                }
                same_values[tuple(sorted(values.items()))].append(enrollment.id)
                if values["next_stage_id"] == stage.id:
                    continue  # waiting for a new attempt of its payment retry
                if stage.escalate:
                    escalating_stages.append((stage, enrollment))
                if not values["next_stage_id"] and values["next_action_date"] <= today:
                    ladder_done |= enrollment
        for values, ids in same_values.items():
            Enrollment.browse(ids).write(dict(values))
        # A stage that escalates does so once it is over (its payment retry
        # included); the later stages still run.
        self.env["collection.stage.action.escalation"]._escalate(
            [*escalating_stages, (self.env["collection.stage"], ladder_done)]
        )

    @api.model
    def _plan_after_stage(self, enrollment, stage, today):
        """What comes after ``stage``: the same stage again on the day the
        retry schedule planned after a soft decline, else the next stage."""
        if enrollment.retry_next_date and stage.retry_payment:
            return {"next_stage_id": stage.id, "next_action_date": enrollment.retry_next_date}
        return {
            **enrollment._get_payment_retry_reset_values(),
            **enrollment._plan_next_stage(stage, today, today),
        }

    @api.model
    def _record_failure(self, group, stage, error):
        """Keep the error on the enrollments and try again later, waiting
        longer after each failure."""
        now = fields.Datetime.now()
        for enrollment in group:
            failures = enrollment.failure_count + 1
            wait = min(BACKOFF_BASE_MINUTES * 2 ** (failures - 1), BACKOFF_MAX_MINUTES)
            enrollment.write(
                {
                    "failure_count": failures,
                    "last_error": str(error),
                    "backoff_until": now + timedelta(minutes=wait),
                }
            )
            enrollment._log_event(
                "error",
                stage=stage,
                outcome="failed",
                attempt=failures,
                message=self.env._(
                    "%(error)s. Next attempt after %(date)s.", error=error, date=enrollment.backoff_until
                ),
            )

    # ------------------------------------------------------------------
    # Triggers and pauses
    # ------------------------------------------------------------------

    @api.model
    def _get_auto_enroll_domain(self, company, processes, today):
        return (
            Domain("company_id", "=", company.id)
            & self.env["account.move"]._get_collectable_domain()
            & Domain(
                "collection_enrollment_ids",
                "not any",
                self.env["collection.enrollment"]._get_no_reenrollment_domain(),
            )
            # Late charges follow their invoice's collection: once it is
            # over (paid, cancelled, written off), only a person may chase
            # them on their own.
            & Domain("collection_late_invoice_id", "=", False)
            # An invoice the segment rules give to a process whose triggers
            # are off is not looked at: measured, 15,528 such invoices read
            # at every run at 113,000 collections (make bench-desk).
            & Domain.OR(
                process._get_trigger_domain(today) & process._get_routed_invoice_domain()
                for process in processes
            )
        )

    @api.model
    def _auto_enroll(self):
        """Enroll the invoices that the triggers of active processes ask for:
        overdue past the grace period, or close to their due date. Returns
        how many, and how many invoices at least are left when the
        scheduled action's time ran out (0 when every one was enrolled)."""
        processes = self.env["collection.process"].search(
            [
                "|",
                ("auto_enroll_overdue", "=", True),
                ("auto_enroll_pre_due", "=", True),
            ]
        )
        # The engine's enrollments log no "created" note and make the
        # engine's user follow none of them: their timeline starts with the
        # "Enrolled" event, and a robot following thousands of collections
        # only costs (measured: a quarter of an enrollment's cost).
        Enrollment = self.env["collection.enrollment"].with_context(
            mail_create_nolog=True, mail_create_nosubscribe=True
        )
        enrolled = 0
        companies = processes.company_id
        size = self._get_batch_size()
        for index, company in enumerate(companies):
            company_processes = processes.filtered(lambda p, c=company: p.company_id == c)
            in_desk_lang = Enrollment.with_context(lang=company._get_collection_lang())
            invoice_ids = self._get_auto_enroll_invoice_ids(company, company_processes)
            for start in range(0, len(invoice_ids), size):
                chunk = invoice_ids[start : start + size]
                choices = self._choose_auto_enroll_processes(chunk, company, company_processes)
                created = in_desk_lang.create(
                    [
                        invoice._prepare_collection_enrollment_values(process, rule)
                        for invoice, process, rule in choices
                    ]
                )
                enrolled += len(created)
                # Each company still to go has at least one invoice to look at.
                to_enroll = len(invoice_ids) - start - len(chunk) + len(companies) - index - 1
                if not self._commit_enrolled(len(created), to_enroll) and to_enroll:
                    return enrolled, to_enroll
        return enrolled, 0

    @api.model
    def _commit_enrolled(self, count, to_enroll):
        """In the scheduled action, commit each chunk of new collections:
        the run's memory stays that of one chunk whatever the number of
        invoices (measured: 220 MB at 10,000 invoices against 157 MB at
        1,000 when they were all kept for one commit), and an interrupted
        run keeps what it enrolled (the next run does not enroll an invoice
        twice). ``to_enroll``, the invoices left, tells Odoo to run the
        action again at once. Returns whether the run has time left."""
        if not self.env.context.get("cron_id"):
            return True
        return self.env["ir.cron"]._commit_progress(count, remaining=to_enroll) > 0

    @api.model
    def _get_auto_enroll_choices(self, company, processes):
        """Chunks of [(invoice, process, segment rule)] that the triggers of
        ``processes`` enroll today in ``company``."""
        invoice_ids = self._get_auto_enroll_invoice_ids(company, processes)
        size = self._get_batch_size()
        for start in range(0, len(invoice_ids), size):
            yield self._choose_auto_enroll_processes(invoice_ids[start : start + size], company, processes)

    @api.model
    def _get_auto_enroll_invoice_ids(self, company, processes):
        """The ids of the invoices the triggers of ``processes`` may enroll
        today in ``company``, in the order they are enrolled."""
        if not company.collection_auto_enroll:
            return []
        domain = self._get_auto_enroll_domain(company, processes, company._get_collection_today())
        Move = self.env["account.move"].with_company(company)
        return list(Move._search(domain, order="invoice_date_due, id"))

    @api.model
    def _choose_auto_enroll_processes(self, invoice_ids, company, processes):
        """[(invoice, process, segment rule)]: the process the segment rules
        choose for each invoice of ``invoice_ids``, kept when its trigger
        fires today."""
        today = company._get_collection_today()
        invoices = self.env["account.move"].browse(invoice_ids)
        choices = self.env["collection.segment.rule"]._find_process_for_invoices(
            invoices, as_if_active=processes
        )
        # The segment rules may give an invoice a process whose own trigger
        # does not fire yet.
        fitting = {
            process: set(invoices.filtered_domain(process._get_trigger_domain(today)).ids)
            for process in processes
        }
        return [
            (invoice, process, rule)
            for invoice, (process, rule) in choices.items()
            if invoice.id in fitting.get(process, ())
        ]

    @api.model
    def _apply_holds(self, enrollments=None):
        """A customer put on hold, or an invoice excluded from follow-up,
        after enrollment: its running collections pause, logged; once the
        hold is lifted they resume, and a stage whose day passed runs."""
        Enrollment = self.env["collection.enrollment"]
        if enrollments is None:
            scope = Domain.TRUE
            groups = Enrollment._read_group([("state", "in", ("running", "paused"))], ["company_id"])
            companies = self.env["res.company"].browse([company.id for [company] in groups])
        else:
            scope, companies = Domain("id", "in", enrollments.ids), enrollments.company_id
        # A hold is set per company: each company's collections read their own.
        for company in companies:
            held = Enrollment._get_held_domain(company)
            in_company = scope & Domain("company_id", "=", company.id)
            newly_held = Enrollment.search(scope & Domain("state", "=", "running") & held)
            for collections in newly_held._grouped_by_desk_lang().values():
                collections.action_pause(reason="hold")
            released = Domain("state", "=", "paused") & Domain("pause_reason", "=", "hold") & ~held
            no_longer_held = Enrollment.search(in_company & released)
            for collections in no_longer_held._grouped_by_desk_lang().values():
                collections.action_resume()

    @api.model
    def _end_expired_pauses(self):
        """Pauses end on their date. A promise to pay by a date is broken the
        day after it, unpaid: it is logged and the process moves on to its
        next stage at once."""
        paused = self.env["collection.enrollment"].search(
            [
                ("state", "in", ("paused", "escalated")),
                ("pause_until", "!=", False),
                ("pause_until", "<=", self._get_horizon_date()),
            ]
        )
        ended = paused.filtered(lambda e: e._get_pause_end() <= e._company_today())
        for collections in ended._grouped_by_desk_lang().values():
            collections._end_pause()
