import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .collection_kpi import (
    ACTIVITY_FIGURES,
    COMPANY_FIGURES,
    COUNTBACK_MAX_MONTHS,
    LAST_STAGE_WINDOW_DAYS,
    RECEIVABLE_MOVE_TYPES,
)

_logger = logging.getLogger(__name__)

# The days the engine's own run still changes: a collection paid today
# changes the stage effectiveness of the stages run up to
# LAST_STAGE_WINDOW_DAYS ago. They are always computed from the ledger; the
# older days are kept.
LIVE_DAYS = LAST_STAGE_WINDOW_DAYS + 1
# How far back days are kept: the countback DSO's months, the longest the
# KPIs read.
KEPT_MONTHS = COUNTBACK_MAX_MONTHS + 1
# Missing days this close together are computed in one span: one query per
# figure and span.
SPAN_GAP_DAYS = 7
# The row kind of each figure of collection.kpi._get_days.
FIGURE_KINDS = {"credit_sales": "company", "receivable_change": "company", "cash": "cash", "stages": "stage"}
# What of a collection its days' figures depend on (collection.kpi):
# payments count while it is enrolled, for its invoice and process, and a
# stage counts as paid before the next by the day it was paid.
ENROLLMENT_KEY_FIELDS = frozenset(
    ("company_id", "move_id", "process_id", "enrolled_on", "closed_on", "state")
)


class DayFigures:
    """The figures of ``collection.kpi._get_days`` for a run of days, each
    keyed by its day first: ``credit_sales`` and ``receivable_change``
    {day: amount}, ``cash`` {(day, process id, stage id): amount},
    ``stages`` {(day, stage id): (reached, paid before the next)}."""

    def __init__(self):
        self.credit_sales = {}
        self.receivable_change = {}
        self.cash = {}
        self.stages = {}

    def update(self, figures):
        for kind, values in figures.items():
            getattr(self, kind).update(values)

    def total(self, kind, date_from, date_to):
        return sum(amount for day, amount in getattr(self, kind).items() if date_from <= day <= date_to)

    def cash_by_stage(self, date_from, date_to):
        by_stage = {}
        for (day, process_id, stage_id), amount in self.cash.items():
            if date_from <= day <= date_to:
                by_stage[process_id, stage_id] = by_stage.get((process_id, stage_id), 0.0) + amount
        return by_stage

    def stage_effectiveness(self, date_from, date_to):
        by_stage = {}
        for (day, stage_id), (reached, paid) in self.stages.items():
            if date_from <= day <= date_to and stage_id:
                total_reached, total_paid = by_stage.get(stage_id, (0, 0))
                by_stage[stage_id] = (total_reached + reached, total_paid + paid)
        return by_stage


def _spans(days):
    """(first, last) of the runs of ``days`` (sorted), runs less than
    SPAN_GAP_DAYS apart joined."""
    spans = []
    for day in days:
        if spans and (day - spans[-1][1]).days <= SPAN_GAP_DAYS:
            spans[-1][1] = day
        else:
            spans.append([day, day])
    return [tuple(span) for span in spans]


def _only_days(figures, wanted):
    """``figures`` (as collection.kpi._get_days returns them) of the days
    ``wanted`` only: a span computed over kept days leaves them as kept."""
    return {
        name: {
            key: value
            for key, value in values.items()
            if (key[0] if isinstance(key, tuple) else key) in wanted
        }
        for name, values in figures.items()
    }


def _day_range(date_from, date_to):
    return [date_from + timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]


class CollectionKpiDay(models.Model):
    """The KPIs' figures of one day of a company, kept so that the KPI screen
    adds up days instead of reading every payment and event of a year: the
    company's credit sales and how its receivables changed (a *company*
    row, one for each day kept), the cash collected by process and last
    stage (*cash* rows), the stages first run that day and those paid before
    the next (*stage* rows).

    The nightly KPI refresh keeps the days older than LIVE_DAYS; younger
    ones, which the engine still changes, are computed on each read. A
    change that reaches a kept day (a payment dated back, a reconciliation
    undone, a collection reopened) marks the day stale in its own
    transaction, and the KPIs compute a stale or missing day from the
    ledger until the next refresh keeps it again."""

    _name = "collection.kpi.day"
    _description = "Collections KPI figures of a day"
    _order = "company_id, day, kind"

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    currency_id = fields.Many2one(related="company_id.currency_id")
    day = fields.Date(required=True, readonly=True)
    kind = fields.Selection(
        [("company", "Company"), ("cash", "Cash collected"), ("stage", "Stage run")],
        required=True,
        readonly=True,
    )
    stale = fields.Boolean(
        readonly=True, help="A change reached the day since it was kept: the KPIs compute it from the ledger."
    )
    tz = fields.Char(string="Time zone", readonly=True, help="The company's calendar the day was counted on.")
    credit_sales = fields.Monetary(readonly=True)
    receivable_change = fields.Monetary(readonly=True)
    # What a day counted stays when its stage or process goes.
    process_id = fields.Many2one("collection.process", readonly=True, ondelete="set null")
    stage_id = fields.Many2one("collection.stage", readonly=True, ondelete="set null")
    cash_collected = fields.Monetary(readonly=True)
    stage_reached = fields.Integer(readonly=True)
    stage_paid = fields.Integer(string="Stage paid before the next", readonly=True)

    # The company row is where a change and the refresh of the same day
    # meet (_mark_stale).
    _company_day_unique = models.UniqueIndex("(company_id, day) WHERE kind = 'company'")
    _company_day_idx = models.Index("(company_id, day)")

    @api.model
    def _get_live_start(self, company):
        """The first day computed on each read rather than kept."""
        return company._get_collection_today() - timedelta(days=LIVE_DAYS)

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    @api.model
    def _read_days(self, company, date_from, date_to, figures):
        """DayFigures of ``figures`` (names of collection.kpi._get_days) of
        each day of the period: kept ones where they are current, the others
        computed."""
        days = DayFigures()
        kept = self._read_kept(company, date_from, date_to, figures, days)
        missing = [day for day in _day_range(date_from, date_to) if day not in kept]
        Kpi = self.env["collection.kpi"]
        wanted = set(missing)
        for first, last in _spans(missing):
            days.update(_only_days(Kpi._get_days(company, first, last, figures), wanted))
        return days

    @api.model
    def _get_kept_condition(self, company):
        """SQL condition on ``kept``: the company rows of the days kept and
        current, counted on the company's calendar of today."""
        return SQL(
            """kept.company_id = %s AND kept.kind = 'company' AND kept.stale IS NOT TRUE
               AND kept.tz = %s AND kept.day < %s""",
            company.id,
            company._get_collection_tz(),
            self._get_live_start(company),
        )

    @api.model
    def _read_kept(self, company, date_from, date_to, figures, days):
        """Add the kept figures of the period to ``days``; return the days
        they hold."""
        Kpi = self.env["collection.kpi"]
        kept = set()
        for day, sales, change in Kpi._fetch(
            SQL(
                """SELECT kept.day, kept.credit_sales, kept.receivable_change FROM collection_kpi_day kept
                    WHERE %s AND kept.day BETWEEN %s AND %s""",
                self._get_kept_condition(company),
                date_from,
                date_to,
            )
        ):
            kept.add(day)
            if "credit_sales" in figures:
                days.credit_sales[day] = float(sales or 0.0)
            if "receivable_change" in figures:
                days.receivable_change[day] = float(change or 0.0)
        kinds = tuple({FIGURE_KINDS[name] for name in figures} - {"company"})
        if not (kept and kinds):
            return kept
        rows = Kpi._fetch(
            SQL(
                """SELECT kind, day, process_id, stage_id, cash_collected, stage_reached, stage_paid
                     FROM collection_kpi_day
                    WHERE company_id = %s AND kind IN %s AND day BETWEEN %s AND %s""",
                company.id,
                kinds,
                min(kept),
                max(kept),
            )
        )
        for kind, day, process_id, stage_id, cash, reached, paid in rows:
            if day not in kept:
                continue
            if kind == "cash":
                days.cash[day, process_id, stage_id] = float(cash)
            else:
                days.stages[day, stage_id] = (reached, paid)
        return kept

    # ------------------------------------------------------------------
    # Keeping
    # ------------------------------------------------------------------

    @api.model
    def _keep_days(self, company):
        """Keep the company's days from KEPT_MONTHS back to LIVE_DAYS ago that
        are missing, stale or counted on another calendar, and forget older
        ones."""
        # The days are the company's figures, written by the system for
        # everyone who reads the KPIs (nobody may write them), whoever runs
        # the refresh.
        self = self.sudo()  # noqa: PLW0642
        live_start = self._get_live_start(company)
        first = live_start.replace(day=1) - relativedelta(months=KEPT_MONTHS)
        self.search([("company_id", "=", company.id), ("day", "<", first)]).unlink()
        rows = self.env["collection.kpi"]._fetch(
            SQL(
                "SELECT kept.day FROM collection_kpi_day kept WHERE %s AND kept.day >= %s",
                self._get_kept_condition(company),
                first,
            )
        )
        kept = {day for (day,) in rows}
        missing = [day for day in _day_range(first, live_start - timedelta(days=1)) if day not in kept]
        Kpi = self.env["collection.kpi"]
        figures = COMPANY_FIGURES + ACTIVITY_FIGURES
        for span_first, span_last in _spans(missing):
            # A month at a time: a first refresh reads two years.
            month_first = span_first
            while month_first <= span_last:
                month_last = min(span_last, month_first + relativedelta(day=31))
                days = DayFigures()
                days.update(Kpi._get_days(company, month_first, month_last, figures))
                self._write_days(company, [day for day in missing if month_first <= day <= month_last], days)
                month_first = month_last + timedelta(days=1)

    @api.model
    def _write_days(self, company, day_list, days):
        """Keep ``days`` (DayFigures) of ``day_list``, in place of what was
        kept of them."""
        if not day_list:
            return
        # The company rows first: where a concurrent change meets the refresh.
        tz = company._get_collection_tz()
        self._upsert_company_rows(
            [
                (
                    company.id,
                    day,
                    False,
                    tz,
                    days.credit_sales.get(day, 0.0),
                    days.receivable_change.get(day, 0.0),
                )
                for day in day_list
            ],
            SQL(
                """stale = FALSE, tz = EXCLUDED.tz, credit_sales = EXCLUDED.credit_sales,
                   receivable_change = EXCLUDED.receivable_change"""
            ),
        )
        self.search(
            [("company_id", "=", company.id), ("kind", "in", ("cash", "stage")), ("day", "in", day_list)]
        ).unlink()
        wanted = set(day_list)
        self.create(
            [
                {
                    "company_id": company.id,
                    "day": day,
                    "kind": "cash",
                    "process_id": process_id,
                    "stage_id": stage_id,
                    "cash_collected": amount,
                }
                for (day, process_id, stage_id), amount in days.cash.items()
                if day in wanted
            ]
            + [
                {
                    "company_id": company.id,
                    "day": day,
                    "kind": "stage",
                    "stage_id": stage_id,
                    "stage_reached": reached,
                    "stage_paid": paid,
                }
                for (day, stage_id), (reached, paid) in days.stages.items()
                if day in wanted
            ]
        )

    # ------------------------------------------------------------------
    # Changes that reach kept days
    # ------------------------------------------------------------------

    @api.model
    def _upsert_company_rows(self, rows, on_conflict):
        """Insert the company rows ``rows`` ((company id, day, stale, tz,
        credit sales, receivable change)), or set ``on_conflict`` (SQL) on
        those there. The company row of a day is where a change that marks
        it stale and the refresh that keeps it meet: of two transactions
        writing it at once, one fails to serialize and is tried again
        (REPEATABLE READ), so a day is never kept from a ledger that missed
        a change."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO collection_kpi_day
                    (company_id, day, kind, stale, tz, credit_sales, receivable_change,
                     create_uid, create_date, write_uid, write_date)
                VALUES %s
                ON CONFLICT (company_id, day) WHERE kind = 'company' DO UPDATE
                   SET %s, write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                """,
                SQL(", ").join(
                    SQL(
                        "(%s, %s, 'company', %s, %s, %s, %s, %s, %s, %s, %s)",
                        *row,
                        self.env.uid,
                        now,
                        self.env.uid,
                        now,
                    )
                    for row in rows
                ),
                on_conflict,
            )
        )
        self.invalidate_model()

    @api.model
    def _mark_stale(self, company_days):
        """Mark stale the kept days of ``company_days`` ((company id, day)
        pairs), or note them stale if not kept yet, in the transaction of
        the change (_upsert_company_rows)."""
        live_starts = {}
        stale = set()
        for company_id, day in company_days:
            if not (company_id and day):
                continue
            if company_id not in live_starts:
                live_starts[company_id] = self._get_live_start(self.env["res.company"].browse(company_id))
            # A day more than the refresh keeps: today may turn into
            # tomorrow between the change and a refresh.
            if day <= live_starts[company_id]:
                stale.add((company_id, day))
        if stale:
            self._upsert_company_rows(
                [(company_id, day, True, None, None, None) for company_id, day in sorted(stale)],
                SQL("stale = TRUE"),
            )

    @api.model
    def _mark_moves(self, moves):
        """The days of the journal entries ``moves``, posted or reset,
        redated: their reconciliations' dates follow theirs (a payment's
        cash, a receivable's change), and a customer invoice's or credit
        note's credit sales and receivables count on its own dates."""
        self._mark_partials(moves.line_ids.matched_debit_ids | moves.line_ids.matched_credit_ids)
        self._mark_stale(
            (move.company_id.id, day)
            for move in moves
            if move.state == "posted" and move.move_type in RECEIVABLE_MOVE_TYPES
            for day in (move.date, move.invoice_date)
        )

    @api.model
    def _mark_partials(self, partials):
        """The days of reconciliations made or undone: cash collected and
        receivables change on their date."""
        self._mark_stale(
            (line.company_id.id, partial.max_date)
            for partial in partials
            for line in partial.debit_move_id | partial.credit_move_id
        )

    @api.model
    def _mark_stages(self, stages):
        """The days of the collections that ran stages being removed: their
        events lose the stage, what was paid after them goes to the stage
        before, and the run before them gets another next."""
        # The collections of every user ran them: the days count them all.
        events = self.env["collection.event"].sudo().search([("stage_id", "in", stages.ids)])
        self._mark_histories(events.enrollment_id)

    @api.model
    def _get_enrollment_keys(self, enrollments):
        """{id: (company, invoice, process, enrolled on, closed on, paid)}: what
        of each collection the days' figures depend on."""
        return {
            enrollment.id: (
                enrollment.company_id.id,
                enrollment.move_id.id,
                enrollment.process_id.id,
                enrollment.enrolled_on or None,
                enrollment.closed_on or None,
                enrollment.state == "paid",
            )
            for enrollment in enrollments
        }

    @api.model
    def _get_enrollment_story(self, enrollments):
        """{enrollment id: ([(date, day reconciled) of each reconciliation
        of its invoice and late charges], [days a stage first ran])}."""
        story = {enrollment_id: ([], []) for enrollment_id in enrollments.ids}
        Kpi = self.env["collection.kpi"]
        for company, company_enrollments in enrollments.grouped("company_id").items():
            ids = tuple(company_enrollments.ids)
            rows = Kpi._fetch(
                SQL(
                    """
                    WITH moves AS (
                        SELECT enrollment.id AS enrollment_id, enrollment.move_id
                          FROM collection_enrollment enrollment
                         WHERE enrollment.id IN %(ids)s AND enrollment.move_id IS NOT NULL
                        UNION ALL
                        SELECT enrollment.id, charge.id
                          FROM collection_enrollment enrollment
                          JOIN account_move charge ON charge.collection_late_invoice_id = enrollment.move_id
                         WHERE enrollment.id IN %(ids)s
                    )
                    SELECT moves.enrollment_id, partial.max_date, %(reconciled_on)s
                      FROM moves
                      JOIN account_move_line line
                        ON line.move_id = moves.move_id AND line.display_type = 'payment_term'
                      JOIN account_partial_reconcile partial ON partial.debit_move_id = line.id
                    """,
                    ids=ids,
                    reconciled_on=Kpi._get_reconciled_on(company, "partial"),
                )
            )
            for enrollment_id, max_date, reconciled_on in rows:
                story[enrollment_id][0].append((max_date, reconciled_on))
            runs = Kpi._fetch(
                SQL(
                    "SELECT runs.enrollment_id, runs.ran_on FROM (%s) runs",
                    Kpi._get_stage_runs_query(SQL("event.enrollment_id IN %s", ids)),
                )
            )
            for enrollment_id, ran_on in runs:
                story[enrollment_id][1].append(ran_on)
        return story

    @api.model
    def _mark_enrollments(self, enrollments, before, after=None):
        """The days that collections' changes reach, from their keys
        (_get_enrollment_keys) ``before`` and ``after`` the change (now, by
        default; {} once deleted)."""
        after = self._get_enrollment_keys(enrollments) if after is None else after
        changed = enrollments.filtered(
            lambda enrollment: before.get(enrollment.id) != after.get(enrollment.id)
        )
        if not changed:
            return
        marked = []
        for enrollment_id, (payments, runs) in self._get_enrollment_story(changed).items():
            old, new = before.get(enrollment_id), after.get(enrollment_id)
            companies = {key[0] for key in (old, new) if key}
            days = self._get_changed_payment_days(old, new, payments) | self._get_changed_run_days(
                old, new, runs
            )
            marked.extend((company_id, day) for company_id in companies for day in days)
        self._mark_stale(marked)

    @api.model
    def _mark_histories(self, enrollments):
        """Every day of the collections' payments and stage runs: their
        events changed, and with them which stage each payment followed."""
        if not enrollments:
            return
        stories = self._get_enrollment_story(enrollments)
        self._mark_stale(
            (enrollment.company_id.id, day)
            for enrollment in enrollments
            for day in [max_date for max_date, _reconciled_on in stories[enrollment.id][0]]
            + stories[enrollment.id][1]
        )

    @api.model
    def _mark_events(self, events):
        """New events dated before the days computed on each read: imported,
        or logged afterwards."""
        live_starts = {}
        late = self.env["collection.event"]
        for event in events:
            company = event.company_id
            if company not in live_starts:
                live_starts[company] = self._get_live_start(company)
            if event.date.date() < live_starts[company]:
                late |= event
        self._mark_histories(late.enrollment_id)

    @api.model
    def _is_closed_today(self, old, new, enrollment):
        """Whether the change only closes the collection today, the
        engine's every payment: every payment was counted before and still
        is, and the runs it decides on are the last LAST_STAGE_WINDOW_DAYS',
        computed on each read. A run counts on its UTC day: west of UTC, in
        the evening, one may be dated after the company's today, and the
        run before it, kept, gets the payment; then the days are read."""
        return bool(
            old
            and new
            and old[:4] == new[:4]
            and not old[4]
            and new[4]
            and new[4] >= enrollment.company_id._get_collection_today()
            and new[4] >= fields.Datetime.now().date()
        )

    @api.model
    def _get_changed_payment_days(self, old, new, payments):
        """The dates of the payments whose count changes between the keys
        ``old`` and ``new`` of a collection: counted while it is enrolled,
        for its invoice and process."""

        def counted(key, reconciled_on):
            return bool(key) and key[3] <= reconciled_on and (not key[4] or reconciled_on <= key[4])

        moved = not (old and new) or old[:3] != new[:3]
        return {
            max_date
            for max_date, reconciled_on in payments
            if counted(old, reconciled_on) != counted(new, reconciled_on)
            or (moved and counted(old or new, reconciled_on))
        }

    @api.model
    def _get_changed_run_days(self, old, new, runs):
        """The days of the stage runs whose "paid before the next" may change
        between the keys ``old`` and ``new`` of a collection: paid on a day,
        a run counts as paid before the next if it was the last one before
        that day, or if it ran at most LAST_STAGE_WINDOW_DAYS before it."""
        if not (old and new) or old[0] != new[0]:
            return set(runs)
        if (old[4], old[5]) == (new[4], new[5]):
            return set()
        days = set()
        for closed_on in {old[4], new[4]} - {None}:
            window_start = closed_on - timedelta(days=LAST_STAGE_WINDOW_DAYS)
            days.update(day for day in runs if window_start <= day <= closed_on)
            earlier = [day for day in runs if day <= closed_on]
            if earlier and any(day > closed_on for day in runs):
                days.add(max(earlier))
        return days
