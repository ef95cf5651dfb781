import statistics
from contextlib import contextmanager
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, models
from odoo.tools import SQL

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
COUNTBACK_MAX_MONTHS = 24
LAST_STAGE_WINDOW_DAYS = 14
# The events that mean a stage ran for a collection.
STAGE_RUN_ACTIONS = ("email", "letter", "sms", "activity", "payment_retry")


class CollectionKpi(models.AbstractModel):
    """The collections KPIs, as defined in the manual, Usage > Metrics (and the team's
    METRICS.md). Amounts are in the company's currency. Receivables are
    customer invoices minus credit notes, posted, at their residual amount
    on the day asked. Every read is aggregated in the database."""

    _name = "collection.kpi"
    _description = "Collections KPIs"

    def _fetch(self, query):
        """Run a KPI query on what the transaction wrote so far: the ORM
        flushes before raw SQL only the fields a query declares, and these
        read across accounting and collections."""
        self.env.flush_all()
        return self.env.execute_query(query)

    @contextmanager
    def _without_jit(self):
        """PostgreSQL's JIT compilation off for the KPIs' queries, and back
        as it was after them: their cost estimates pass its threshold at
        tens of thousands of collections, and compiling took longer than
        running (measured at 113,000 collections: 270 ms to compile a
        receivables query that ran in 70 ms; the KPI screen in 1.5 s with
        it, 0.7 s without)."""
        cr = self.env.cr
        cr.execute(SQL("SELECT current_setting('jit'), set_config('jit', 'off', true)"))
        jit = cr.fetchone()[0]
        try:
            yield
        finally:
            cr.execute(SQL("SELECT set_config('jit', %s, true)", jit))

    # ------------------------------------------------------------------
    # Receivables
    # ------------------------------------------------------------------

    @api.model
    def _receivable_residuals(self, company, as_of):
        """SQL of (date_maturity, residual) rows whose residuals add up, by
        maturity, to those of the company's posted invoices and credit notes
        on ``as_of``: reconciliations made after that day do not count yet.

        A receivable line's residual on a day is its balance less what was
        reconciled with it by then; today's (the stored ``amount_residual``)
        less what was reconciled with it by then is the same. So the rows
        are the lines open today, at their residual, and the
        reconciliations after ``as_of``, given back: the cost follows the
        open receivables and the days since ``as_of``, not the ledger's
        years. A fully reconciled line is at zero today (Odoo's
        ``reconciled``)."""
        lines = SQL(
            """line.company_id = %(company)s
               AND line.display_type = 'payment_term'
               AND move.state = 'posted'
               AND move.move_type IN ('out_invoice', 'out_refund')
               AND move.date <= %(as_of)s""",
            company=company.id,
            as_of=as_of,
        )
        return SQL(
            """
            SELECT line.date_maturity, line.amount_residual AS residual
              FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
             WHERE %(lines)s AND line.reconciled IS NOT TRUE
            UNION ALL
            SELECT line.date_maturity, partial.amount
              FROM account_partial_reconcile partial
              JOIN account_move_line line ON line.id = partial.debit_move_id
              JOIN account_move move ON move.id = line.move_id
             WHERE %(lines)s AND partial.max_date > %(as_of)s
            UNION ALL
            SELECT line.date_maturity, -partial.amount
              FROM account_partial_reconcile partial
              JOIN account_move_line line ON line.id = partial.credit_move_id
              JOIN account_move move ON move.id = line.move_id
             WHERE %(lines)s AND partial.max_date > %(as_of)s
            """,
            lines=lines,
            as_of=as_of,
        )

    @api.model
    def _receivable_residuals_by_history(self, company, as_of):
        """SQL of (date_maturity, residual) of every receivable line of the
        company's posted invoices and credit notes on ``as_of``, each
        computed from its balance and every reconciliation up to that day:
        the definition ``_receivable_residuals`` reads faster (the tests
        compare the two)."""
        return SQL(
            """
            SELECT line.date_maturity,
                   line.balance
                   - COALESCE((SELECT SUM(partial.amount) FROM account_partial_reconcile partial
                                WHERE partial.debit_move_id = line.id AND partial.max_date <= %(as_of)s), 0)
                   + COALESCE((SELECT SUM(partial.amount) FROM account_partial_reconcile partial
                                WHERE partial.credit_move_id = line.id AND partial.max_date <= %(as_of)s), 0)
                   AS residual
              FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
             WHERE move.company_id = %(company)s
               AND move.state = 'posted'
               AND move.move_type IN ('out_invoice', 'out_refund')
               AND line.display_type = 'payment_term'
               AND move.date <= %(as_of)s
            """,
            company=company.id,
            as_of=as_of,
        )

    @api.model
    def _get_aging(self, company, as_of, residuals=None):
        """Open receivables on ``as_of`` by days past due (from ``residuals``,
        SQL as ``_receivable_residuals`` gives, by default its own)."""
        row = self._fetch(
            SQL(
                """
                SELECT COALESCE(SUM(residual) FILTER (
                           WHERE date_maturity IS NULL OR date_maturity >= %(as_of)s), 0),
                       COALESCE(SUM(residual) FILTER (WHERE %(as_of)s - date_maturity BETWEEN 1 AND 30), 0),
                       COALESCE(SUM(residual) FILTER (WHERE %(as_of)s - date_maturity BETWEEN 31 AND 60), 0),
                       COALESCE(SUM(residual) FILTER (WHERE %(as_of)s - date_maturity BETWEEN 61 AND 90), 0),
                       COALESCE(SUM(residual) FILTER (WHERE %(as_of)s - date_maturity > 90), 0)
                  FROM (%(residuals)s) receivables
                """,
                as_of=as_of,
                residuals=residuals or self._receivable_residuals(company, as_of),
            )
        )[0]
        return dict(zip(AGING_BUCKETS, (float(value) for value in row), strict=True))

    @api.model
    def _get_receivables(self, company, as_of, current_only=False, aging=None):
        """``aging`` is the result of ``_get_aging`` on ``as_of`` when the
        caller has it already: each aging scans every receivable line."""
        aging = aging or self._get_aging(company, as_of)
        return aging["current"] if current_only else sum(aging.values())

    @api.model
    def _credit_sales_filter(self, company, date_from, date_to):
        """SQL condition on ``account_move``: the customer invoices and credit
        notes of the company, posted, dated in the period."""
        return SQL(
            """company_id = %(company)s AND state = 'posted'
               AND move_type IN ('out_invoice', 'out_refund')
               AND invoice_date BETWEEN %(date_from)s AND %(date_to)s""",
            company=company.id,
            date_from=date_from,
            date_to=date_to,
        )

    @api.model
    def _get_credit_sales(self, company, date_from, date_to):
        """Customer invoices minus credit notes dated in the period."""
        row = self._fetch(
            SQL(
                "SELECT COALESCE(SUM(amount_total_signed), 0) FROM account_move WHERE %s",
                self._credit_sales_filter(company, date_from, date_to),
            )
        )[0]
        return float(row[0])

    # ------------------------------------------------------------------
    # DSO and CEI
    # ------------------------------------------------------------------

    @api.model
    def _get_dso_simple(
        self, company, date_from, date_to, current_only=False, ending_aging=None, period_sales=None
    ):
        """Ending receivables / credit sales of the period x days in it."""
        sales = self._get_credit_sales(company, date_from, date_to) if period_sales is None else period_sales
        if not sales:
            return 0.0
        days = (date_to - date_from).days + 1
        return self._get_receivables(company, date_to, current_only, aging=ending_aging) / sales * days

    @api.model
    def _get_monthly_credit_sales(self, company, as_of, months=COUNTBACK_MAX_MONTHS):
        """Credit sales of each calendar month, the month of ``as_of`` (up to
        that day) and the ``months - 1`` before it, keyed by the month's
        first day, in one query."""
        first_month = as_of.replace(day=1) - relativedelta(months=months - 1)
        rows = self._fetch(
            SQL(
                """SELECT date_trunc('month', invoice_date)::date, SUM(amount_total_signed)
                     FROM account_move WHERE %s GROUP BY 1""",
                self._credit_sales_filter(company, first_month, as_of),
            )
        )
        return {month: float(amount) for month, amount in rows}

    @api.model
    def _get_dso_countback(self, company, as_of, current_only=False, ending_aging=None, monthly_sales=None):
        """From the ending receivables, walk back a calendar month at a time
        (the month of ``as_of`` up to that day): while they cover the month's
        credit sales, take them off and count the month's days; for the last
        month, count the share of its days they cover."""
        remaining = self._get_receivables(company, as_of, current_only, aging=ending_aging)
        if remaining <= 0:
            return 0.0
        if monthly_sales is None:
            monthly_sales = self._get_monthly_credit_sales(company, as_of)
        dso = 0.0
        month_end = as_of
        for _month in range(COUNTBACK_MAX_MONTHS):
            if remaining <= 0:
                break
            month_start = month_end.replace(day=1)
            days = (month_end - month_start).days + 1
            sales = monthly_sales.get(month_start, 0.0)
            if sales > 0 and remaining >= sales:
                remaining -= sales
                dso += days
            else:
                dso += (remaining / sales * days) if sales > 0 else 0.0
                break
            month_end = month_start - timedelta(days=1)
        return dso

    @api.model
    def _get_cei(self, company, date_from, date_to, ending_aging=None, period_sales=None):
        """(beginning AR + credit sales - ending AR) / (beginning AR +
        credit sales - ending current AR) x 100, with the period's total
        credit sales (not divided by its months)."""
        beginning = self._get_receivables(company, date_from - timedelta(days=1))
        sales = self._get_credit_sales(company, date_from, date_to) if period_sales is None else period_sales
        ending = ending_aging or self._get_aging(company, date_to)
        denominator = beginning + sales - ending["current"]
        if not denominator:
            return 0.0
        return (beginning + sales - sum(ending.values())) / denominator * 100

    # ------------------------------------------------------------------
    # Collections
    # ------------------------------------------------------------------

    @api.model
    def _get_sent_to_legal(self, company, date_from, date_to):
        """Collections whose legal action was approved in the period."""
        return self.env["collection.enrollment"].search_count(
            [
                ("company_id", "=", company.id),
                ("legal_state", "=", "sent"),
                ("legal_sent_on", ">=", date_from),
                ("legal_sent_on", "<=", date_to),
            ]
        )

    @api.model
    def _get_recovery_rate(self, company, date_from, date_to):
        """For the collections started in the period (in progress ones
        included): (amount collected / (amount enrolled + late charges),
        paid / count)."""
        enrolled, charged, collected, count = self.env["collection.analysis"]._read_group(
            [
                ("company_id", "=", company.id),
                ("enrolled_on", ">=", date_from),
                ("enrolled_on", "<=", date_to),
            ],
            aggregates=["amount_enrolled:sum", "amount_charged:sum", "amount_collected:sum", "__count"],
        )[0]
        owed = (enrolled or 0.0) + (charged or 0.0)
        paid = self.env["collection.enrollment"].search_count(
            [
                ("company_id", "=", company.id),
                ("enrolled_on", ">=", date_from),
                ("enrolled_on", "<=", date_to),
                ("state", "=", "paid"),
            ]
        )
        return (
            (collected or 0.0) / owed * 100 if owed else 0.0,
            paid / count * 100 if count else 0.0,
        )

    @api.model
    def _get_median_days_to_collect(self, company, date_from, date_to):
        """Median of enrollment-to-full-payment days of the collections paid
        in the period."""
        rows = self.env["collection.enrollment"].search_read(
            [
                ("company_id", "=", company.id),
                ("state", "=", "paid"),
                ("closed_on", ">=", date_from),
                ("closed_on", "<=", date_to),
            ],
            ["enrolled_on", "closed_on"],
        )
        days = [(row["closed_on"] - row["enrolled_on"]).days for row in rows]
        return float(statistics.median(days)) if days else 0.0

    @api.model
    def _get_promise_kept_rate(self, company, date_from, date_to):
        """Promises kept / promises due, for promises that came to their end
        (kept or broken) in the period."""
        counts = dict(
            self.env["collection.event"]._read_group(
                [
                    ("company_id", "=", company.id),
                    ("action", "in", ("promise_kept", "promise_broken")),
                    ("date", ">=", date_from),
                    ("date", "<", date_to + timedelta(days=1)),
                ],
                groupby=["action"],
                aggregates=["__count"],
            )
        )
        due = counts.get("promise_kept", 0) + counts.get("promise_broken", 0)
        return counts.get("promise_kept", 0) / due * 100 if due else 0.0

    @api.model
    def _get_cash_collected(self, company, date_from, date_to):
        """Payments reconciled with enrolled invoices, or with their late
        charge invoices, while they were enrolled, dated in the period, each
        given to the last stage that ran before it. Returns (total,
        {(process id, stage id): amount}).

        "While enrolled" and "before it" go by when the payment was
        reconciled, on the company's calendar like the collection's own
        days: a payment's date is on the calendar of whoever made it (UTC
        for an online payment), a day off around midnight."""
        rows = self._fetch(self._get_cash_collected_query(company, date_from, date_to))
        by_stage = {(process_id, stage_id): float(amount) for process_id, stage_id, amount in rows}
        return sum(by_stage.values()), by_stage

    @api.model
    def _get_cash_move_condition(self, alias):
        """SQL: the journal entry ``alias`` brought cash in: a payment or a
        bank statement line is cash; a credit note, a write-off is not."""
        move = SQL.identifier(alias)
        return SQL("(%s.origin_payment_id IS NOT NULL OR %s.statement_line_id IS NOT NULL)", move, move)

    @api.model
    def _get_cash_collected_query(self, company, date_from, date_to):
        """The payments of ``_get_cash_collected``, summed by process and by
        the last stage that ran before each."""
        # The period's reconciliations first (an index on their date): the
        # cost follows the period, not every collection the company had.
        return SQL(
            """
                WITH paid AS (
                    SELECT partial.id, partial.amount, partial.create_date, line.move_id
                      FROM account_partial_reconcile partial
                      JOIN account_move_line line
                        ON line.id = partial.debit_move_id AND line.display_type = 'payment_term'
                      JOIN account_move_line paying_line ON paying_line.id = partial.credit_move_id
                      JOIN account_move paying ON paying.id = paying_line.move_id
                     WHERE %(cash)s
                       AND partial.max_date BETWEEN %(date_from)s AND %(date_to)s
                ), covered AS (
                    SELECT paid.*, enrollment.id AS enrollment_id
                      FROM paid
                      JOIN collection_enrollment enrollment ON enrollment.move_id = paid.move_id
                     WHERE enrollment.company_id = %(company)s
                    UNION ALL
                    SELECT paid.*, enrollment.id
                      FROM paid
                      JOIN account_move charge ON charge.id = paid.move_id
                      JOIN collection_enrollment enrollment
                        ON enrollment.move_id = charge.collection_late_invoice_id
                     WHERE enrollment.company_id = %(company)s
                ), attributed AS (
                    -- Each payment once: a payment on the day one collection of the
                    -- invoice was replaced and the next began goes to the newer.
                    SELECT DISTINCT ON (partial.id)
                           partial.amount, partial.create_date AS reconciled_at,
                           enrollment.id AS enrollment_id, enrollment.process_id
                      FROM covered partial
                      JOIN collection_enrollment enrollment ON enrollment.id = partial.enrollment_id
                     WHERE %(reconciled_on)s >= enrollment.enrolled_on
                       AND (enrollment.closed_on IS NULL OR %(reconciled_on)s <= enrollment.closed_on)
                  ORDER BY partial.id, enrollment.enrolled_on DESC, enrollment.id DESC
                )
                SELECT attributed.process_id,
                       (SELECT event.stage_id FROM collection_event event
                         WHERE event.enrollment_id = attributed.enrollment_id
                           AND event.stage_id IS NOT NULL
                           AND event.action IN %(actions)s
                           AND event.date <= attributed.reconciled_at
                      ORDER BY event.date DESC, event.id DESC LIMIT 1) AS stage_id,
                       SUM(attributed.amount)
                  FROM attributed
              GROUP BY 1, 2
                """,
            company=company.id,
            cash=self._get_cash_move_condition("paying"),
            actions=STAGE_RUN_ACTIONS,
            date_from=date_from,
            date_to=date_to,
            reconciled_on=SQL(
                "(partial.create_date AT TIME ZONE 'UTC' AT TIME ZONE %s)::date",
                company._get_collection_tz(),
            ),
        )

    @api.model
    def _get_stage_effectiveness(self, company, date_from, date_to, last_stage_days=LAST_STAGE_WINDOW_DAYS):
        """For each stage that ran in the period: (collections that reached
        it, those paid before the next stage ran, or within
        ``last_stage_days`` for a last stage)."""
        # Only the collections with a stage run in the period are read (their
        # whole history: a stage counts in the period of its first run), and
        # the next run date comes from a window over distinct run dates, so
        # the cost follows the period's activity, not the event log's size.
        rows = self._fetch(
            SQL(
                """
                WITH in_period AS (
                    SELECT DISTINCT event.enrollment_id
                      FROM collection_event event
                     WHERE event.company_id = %(company)s
                       AND event.stage_id IS NOT NULL
                       AND event.action IN %(actions)s
                       AND event.date >= %(date_from)s AND event.date < %(day_after)s
                ), reached AS (
                    SELECT event.enrollment_id, event.stage_id, MIN(event.date::date) AS ran_on
                      FROM collection_event event
                      JOIN in_period ON in_period.enrollment_id = event.enrollment_id
                     WHERE event.stage_id IS NOT NULL
                       AND event.action IN %(actions)s
                  GROUP BY 1, 2
                ), run_days AS (
                    -- The next day another stage ran, in one pass: no self-join, whose
                    -- cost turned quadratic when the planner's statistics lagged
                    -- behind a large engine run (31 s at 10,000 collections).
                    SELECT enrollment_id, stage_id, ran_on,
                           MIN(ran_on) OVER (
                               PARTITION BY enrollment_id ORDER BY ran_on
                               RANGE BETWEEN INTERVAL '1 day' FOLLOWING AND UNBOUNDED FOLLOWING
                           ) AS next_ran_on
                      FROM reached
                )
                SELECT run_days.stage_id,
                       COUNT(*),
                       COUNT(*) FILTER (
                           WHERE enrollment.state = 'paid'
                             AND CASE WHEN run_days.next_ran_on IS NULL
                                      THEN enrollment.closed_on <= run_days.ran_on + %(last_stage_days)s
                                      ELSE enrollment.closed_on < run_days.next_ran_on END)
                  FROM run_days
                  JOIN collection_enrollment enrollment ON enrollment.id = run_days.enrollment_id
                 WHERE run_days.ran_on BETWEEN %(date_from)s AND %(date_to)s
              GROUP BY 1
                """,
                company=company.id,
                actions=STAGE_RUN_ACTIONS,
                date_from=date_from,
                date_to=date_to,
                day_after=date_to + timedelta(days=1),
                last_stage_days=last_stage_days,
            )
        )
        return {stage_id: (reached, paid) for stage_id, reached, paid in rows}

    @api.model
    def _get_kpis(self, company, date_from, date_to):
        with self._without_jit():
            return self._read_kpis(company, date_from, date_to)

    @api.model
    def _read_kpis(self, company, date_from, date_to):
        # Each receivables and sales figure is read once and shared by the
        # KPIs that use it.
        ending = self._get_aging(company, date_to)
        sales = self._get_credit_sales(company, date_from, date_to)
        dso_simple = self._get_dso_simple(
            company, date_from, date_to, ending_aging=ending, period_sales=sales
        )
        best_simple = self._get_dso_simple(
            company, date_from, date_to, current_only=True, ending_aging=ending, period_sales=sales
        )
        monthly_sales = self._get_monthly_credit_sales(company, date_to)
        dso_countback = self._get_dso_countback(
            company, date_to, ending_aging=ending, monthly_sales=monthly_sales
        )
        best_countback = self._get_dso_countback(
            company, date_to, current_only=True, ending_aging=ending, monthly_sales=monthly_sales
        )
        recovery_amount, recovery_count = self._get_recovery_rate(company, date_from, date_to)
        cash_collected, cash_collected_by_stage = self._get_cash_collected(company, date_from, date_to)
        return {
            "cash_collected": cash_collected,
            "cash_collected_by_stage": cash_collected_by_stage,
            "stage_effectiveness": self._get_stage_effectiveness(company, date_from, date_to),
            "recovery_rate": recovery_amount,
            "recovery_rate_count": recovery_count,
            "median_days_to_collect": self._get_median_days_to_collect(company, date_from, date_to),
            "dso_simple": dso_simple,
            "best_dso_simple": best_simple,
            "add_simple": dso_simple - best_simple,
            "dso_countback": dso_countback,
            "best_dso_countback": best_countback,
            "add_countback": dso_countback - best_countback,
            "cei": self._get_cei(company, date_from, date_to, ending_aging=ending, period_sales=sales),
            "promise_kept_rate": self._get_promise_kept_rate(company, date_from, date_to),
            "sent_to_legal": self._get_sent_to_legal(company, date_from, date_to),
            **{f"aging_{bucket}": amount for bucket, amount in ending.items()},
        }
