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
# The figures collection.kpi.day keeps for each day: the company's sales and
# receivables, and the collections' activity.
COMPANY_FIGURES = ("credit_sales", "receivable_change")
# The memory a reporting query's sort or hash may take before spilling to
# disk (collection.kpi._reporting_settings).
REPORTING_WORK_MEM = "64MB"
REPORTING_SETTINGS_KEY = "collections_automation.reporting_settings"
# The entries whose receivable lines are the company's receivables.
RECEIVABLE_MOVE_TYPES = ("out_invoice", "out_refund")
ACTIVITY_FIGURES = ("cash", "stages")


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
    def _reporting_settings(self):
        """PostgreSQL set for reporting queries, and back as it was after
        them: JIT compilation off, as their cost estimates pass its
        threshold at tens of thousands of collections and compiling took
        longer than running (measured at 113,000 collections: 270 ms to
        compile a receivables query that ran in 70 ms); and sorts and
        hashes in memory up to REPORTING_WORK_MEM, as the analysis pivot's
        grouping sets of a hundred thousand collections spilled to disk at
        the default 4 MB (1.0 s, 0.6 s in memory). Nested, it leaves them
        to the outer one (the recovery rate reads the analysis)."""
        cr = self.env.cr
        if cr.cache.get(REPORTING_SETTINGS_KEY):
            yield
            return
        cr.cache[REPORTING_SETTINGS_KEY] = True
        cr.execute(
            SQL(
                """SELECT current_setting('jit'), current_setting('work_mem'),
                          set_config('jit', 'off', true), set_config('work_mem', %s, true)""",
                REPORTING_WORK_MEM,
            )
        )
        jit, work_mem = cr.fetchone()[:2]
        try:
            yield
        finally:
            cr.cache.pop(REPORTING_SETTINGS_KEY)
        # Not after an error: the transaction is likely aborted and its
        # rollback undoes settings made for it, and the error (a
        # serialization failure to retry) goes up as it is.
        cr.execute(SQL("SELECT set_config('jit', %s, true), set_config('work_mem', %s, true)", jit, work_mem))

    # ------------------------------------------------------------------
    # Receivables
    # ------------------------------------------------------------------

    @api.model
    def _receivable_line_condition(self, company):
        """SQL condition on ``line`` and its ``move``: the receivable lines of
        the company's posted invoices and credit notes."""
        return SQL(
            """line.company_id = %(company)s
               AND line.display_type = 'payment_term'
               AND move.state = 'posted'
               AND move.move_type IN %(move_types)s""",
            company=company.id,
            move_types=RECEIVABLE_MOVE_TYPES,
        )

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
        lines = SQL("%s AND move.date <= %s", self._receivable_line_condition(company), as_of)
        # The open lines by the company's open receivables index alone (it
        # carries the state and date of each line's entry), each entry's
        # type looked up for it: joined, PostgreSQL scanned every journal
        # item and entry, its estimate of the open lines four times too
        # high (measured at 340,000 collections: 1.0 to 1.6 s, now 0.11 s).
        return SQL(
            """
            SELECT line.date_maturity, line.amount_residual AS residual
              FROM account_move_line line
             WHERE line.company_id = %(company)s
               AND line.display_type = 'payment_term'
               AND line.reconciled IS NOT TRUE
               AND line.parent_state = 'posted'
               AND line.date <= %(as_of)s
               AND (SELECT move.move_type IN %(move_types)s
                      FROM account_move move WHERE move.id = line.move_id)
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
            company=company.id,
            move_types=RECEIVABLE_MOVE_TYPES,
        )

    @api.model
    def _get_receivable_change_by_day(self, company, date_from, date_to):
        """{day: what the company's receivables (``_get_receivables``) grew
        by on that day}: the receivable lines dated that day, less the
        reconciliations dated that day (a reconciliation's date is the later
        of its two lines', so it never comes before the line it settles).
        Receivables on a day are thus those of a later day less the changes
        in between."""
        lines = self._receivable_line_condition(company)
        rows = self._fetch(
            SQL(
                """
                SELECT day, SUM(change) FROM (
                    SELECT move.date AS day, line.balance AS change
                      FROM account_move_line line
                      JOIN account_move move ON move.id = line.move_id
                     WHERE %(lines)s AND move.date BETWEEN %(date_from)s AND %(date_to)s
                    UNION ALL
                    SELECT partial.max_date, -partial.amount
                      FROM account_partial_reconcile partial
                      JOIN account_move_line line ON line.id = partial.debit_move_id
                      JOIN account_move move ON move.id = line.move_id
                     WHERE %(lines)s AND partial.max_date BETWEEN %(date_from)s AND %(date_to)s
                    UNION ALL
                    SELECT partial.max_date, partial.amount
                      FROM account_partial_reconcile partial
                      JOIN account_move_line line ON line.id = partial.credit_move_id
                      JOIN account_move move ON move.id = line.move_id
                     WHERE %(lines)s AND partial.max_date BETWEEN %(date_from)s AND %(date_to)s
                ) changes
              GROUP BY day
                """,
                lines=lines,
                date_from=date_from,
                date_to=date_to,
            )
        )
        return {day: float(amount) for day, amount in rows}

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
               AND move.move_type IN %(move_types)s
               AND line.display_type = 'payment_term'
               AND move.date <= %(as_of)s
            """,
            company=company.id,
            as_of=as_of,
            move_types=RECEIVABLE_MOVE_TYPES,
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
               AND move_type IN %(move_types)s
               AND invoice_date BETWEEN %(date_from)s AND %(date_to)s""",
            company=company.id,
            move_types=RECEIVABLE_MOVE_TYPES,
            date_from=date_from,
            date_to=date_to,
        )

    @api.model
    def _get_credit_sales_by_day(self, company, date_from, date_to):
        """{invoice date: customer invoices minus credit notes dated that day}."""
        rows = self._fetch(
            SQL(
                "SELECT invoice_date, SUM(amount_total_signed) FROM account_move WHERE %s GROUP BY 1",
                self._credit_sales_filter(company, date_from, date_to),
            )
        )
        return {day: float(amount) for day, amount in rows}

    @api.model
    def _get_credit_sales(self, company, date_from, date_to, days=None):
        """Customer invoices minus credit notes dated in the period (from
        ``days``, the ``collection.kpi.day`` figures of a span that holds the
        period, when the caller read them already)."""
        days = days or self.env["collection.kpi.day"]._read_days(company, date_from, date_to, COMPANY_FIGURES)
        return days.total("credit_sales", date_from, date_to)

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
    def _get_countback_start(self, as_of, months=COUNTBACK_MAX_MONTHS):
        """The first day of the months the countback DSO may walk back to."""
        return as_of.replace(day=1) - relativedelta(months=months - 1)

    @api.model
    def _get_monthly_credit_sales(self, company, as_of, months=COUNTBACK_MAX_MONTHS, days=None):
        """Credit sales of each calendar month, the month of ``as_of`` (up to
        that day) and the ``months - 1`` before it, keyed by the month's
        first day."""
        first_month = self._get_countback_start(as_of, months)
        days = days or self.env["collection.kpi.day"]._read_days(company, first_month, as_of, COMPANY_FIGURES)
        by_month = {}
        for day, amount in days.credit_sales.items():
            if first_month <= day <= as_of:
                month = day.replace(day=1)
                by_month[month] = by_month.get(month, 0.0) + amount
        return by_month

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
    def _get_cei(self, company, date_from, date_to, ending_aging=None, days=None):
        """(beginning AR + credit sales - ending AR) / (beginning AR +
        credit sales - ending current AR) x 100, with the period's total
        credit sales (not divided by its months). The beginning receivables
        are the ending ones less what they grew by during the period."""
        days = days or self.env["collection.kpi.day"]._read_days(company, date_from, date_to, COMPANY_FIGURES)
        ending = ending_aging or self._get_aging(company, date_to)
        beginning = sum(ending.values()) - days.total("receivable_change", date_from, date_to)
        sales = days.total("credit_sales", date_from, date_to)
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
        # One read, by state: the amounts and both counts in the same pass
        # over the period's collections.
        by_state = self.env["collection.analysis"]._read_group(
            [
                ("company_id", "=", company.id),
                ("enrolled_on", ">=", date_from),
                ("enrolled_on", "<=", date_to),
            ],
            groupby=["state"],
            aggregates=["amount_enrolled:sum", "amount_charged:sum", "amount_collected:sum", "__count"],
        )
        owed = collected = 0.0
        count = paid = 0
        for state, enrolled, charged, amount, number in by_state:
            owed += (enrolled or 0.0) + (charged or 0.0)
            collected += amount or 0.0
            count += number
            paid += number if state == "paid" else 0
        return (
            collected / owed * 100 if owed else 0.0,
            paid / count * 100 if count else 0.0,
        )

    @api.model
    def _get_median_days_to_collect(self, company, date_from, date_to):
        """Median of enrollment-to-full-payment days of the collections paid
        in the period (the mean of the two middle ones for an even count)."""
        # Computed by the database: a year of paid collections is a hundred
        # thousand rows at a large company, not worth carrying to Python.
        (median,) = self._fetch(
            SQL(
                """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - enrolled_on)
                     FROM collection_enrollment
                    WHERE company_id = %s AND state = 'paid' AND closed_on BETWEEN %s AND %s""",
                company.id,
                date_from,
                date_to,
            )
        )[0]
        return float(median or 0.0)

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
    def _get_cash_collected(self, company, date_from, date_to, days=None):
        """Payments reconciled with enrolled invoices, or with their late
        charge invoices, while they were enrolled, dated in the period, each
        given to the last stage that ran before it. Returns (total,
        {(process id, stage id): amount}).

        "While enrolled" and "before it" go by when the payment was
        reconciled, on the company's calendar like the collection's own
        days: a payment's date is on the calendar of whoever made it (UTC
        for an online payment), a day off around midnight."""
        days = days or self.env["collection.kpi.day"]._read_days(
            company, date_from, date_to, ACTIVITY_FIGURES
        )
        by_stage = days.cash_by_stage(date_from, date_to)
        return sum(by_stage.values()), by_stage

    @api.model
    def _get_cash_collected_by_day(self, company, date_from, date_to):
        """{(day, process id, stage id): amount} of ``_get_cash_collected``,
        by the payments' dates."""
        rows = self._fetch(self._get_cash_collected_query(company, date_from, date_to))
        return {(day, process_id, stage_id): float(amount) for day, process_id, stage_id, amount in rows}

    @api.model
    def _get_reconciled_on(self, company, alias):
        """SQL: the day the reconciliation ``alias`` was made, on the
        company's calendar."""
        return SQL(
            "(%s.create_date AT TIME ZONE 'UTC' AT TIME ZONE %s)::date",
            SQL.identifier(alias),
            company._get_collection_tz(),
        )

    @api.model
    def _get_cash_move_condition(self, alias):
        """SQL: the journal entry ``alias`` brought cash in: a payment or a
        bank statement line is cash; a credit note, a write-off is not."""
        move = SQL.identifier(alias)
        return SQL("(%s.origin_payment_id IS NOT NULL OR %s.statement_line_id IS NOT NULL)", move, move)

    @api.model
    def _get_cash_collected_query(self, company, date_from, date_to):
        """The payments of ``_get_cash_collected``, summed by date, by process
        and by the last stage that ran before each."""
        # The period's reconciliations first (an index on their date): the
        # cost follows the period, not every collection the company had.
        return SQL(
            """
                WITH paid AS (
                    SELECT partial.id, partial.amount, partial.create_date, partial.max_date, line.move_id
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
                           partial.amount, partial.max_date, partial.create_date AS reconciled_at,
                           enrollment.id AS enrollment_id, enrollment.process_id
                      FROM covered partial
                      JOIN collection_enrollment enrollment ON enrollment.id = partial.enrollment_id
                     WHERE %(reconciled_on)s >= enrollment.enrolled_on
                       AND (enrollment.closed_on IS NULL OR %(reconciled_on)s <= enrollment.closed_on)
                  ORDER BY partial.id, enrollment.enrolled_on DESC, enrollment.id DESC
                )
                SELECT attributed.max_date,
                       attributed.process_id,
                       (SELECT event.stage_id FROM collection_event event
                         WHERE event.enrollment_id = attributed.enrollment_id
                           AND event.stage_id IS NOT NULL
                           AND event.action IN %(actions)s
                           AND event.date <= attributed.reconciled_at
                      ORDER BY event.date DESC, event.id DESC LIMIT 1) AS stage_id,
                       SUM(attributed.amount)
                  FROM attributed
              GROUP BY 1, 2, 3
                """,
            company=company.id,
            cash=self._get_cash_move_condition("paying"),
            actions=STAGE_RUN_ACTIONS,
            date_from=date_from,
            date_to=date_to,
            reconciled_on=self._get_reconciled_on(company, "partial"),
        )

    @api.model
    def _get_stage_effectiveness(self, company, date_from, date_to, days=None):
        """For each stage that first ran for a collection in the period:
        (collections that reached it, those paid before the next stage ran,
        or within LAST_STAGE_WINDOW_DAYS for a last stage)."""
        days = days or self.env["collection.kpi.day"]._read_days(
            company, date_from, date_to, ACTIVITY_FIGURES
        )
        return days.stage_effectiveness(date_from, date_to)

    @api.model
    def _get_stage_runs_query(self, enrollment_condition):
        """SQL of (enrollment_id, stage_id, ran_on): the day each stage first
        ran for the collections ``enrollment_condition`` (on ``event``)
        selects."""
        return SQL(
            """SELECT event.enrollment_id, event.stage_id, MIN(event.date::date) AS ran_on
                 FROM collection_event event
                WHERE event.stage_id IS NOT NULL
                  AND event.action IN %s
                  AND %s
             GROUP BY 1, 2""",
            STAGE_RUN_ACTIONS,
            enrollment_condition,
        )

    @api.model
    def _get_stage_effectiveness_by_day(self, company, date_from, date_to):
        """{(day, stage id): (reached, paid before the next)} of
        ``_get_stage_effectiveness``, by the day each stage first ran."""
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
                ), reached AS (%(runs)s
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
                SELECT run_days.ran_on,
                       run_days.stage_id,
                       COUNT(*),
                       COUNT(*) FILTER (
                           WHERE enrollment.state = 'paid'
                             AND CASE WHEN run_days.next_ran_on IS NULL
                                      THEN enrollment.closed_on <= run_days.ran_on + %(last_stage_days)s
                                      ELSE enrollment.closed_on < run_days.next_ran_on END)
                  FROM run_days
                  JOIN collection_enrollment enrollment ON enrollment.id = run_days.enrollment_id
                 WHERE run_days.ran_on BETWEEN %(date_from)s AND %(date_to)s
              GROUP BY 1, 2
                """,
                company=company.id,
                actions=STAGE_RUN_ACTIONS,
                runs=self._get_stage_runs_query(
                    SQL("event.enrollment_id IN (SELECT enrollment_id FROM in_period)")
                ),
                date_from=date_from,
                date_to=date_to,
                day_after=date_to + timedelta(days=1),
                last_stage_days=LAST_STAGE_WINDOW_DAYS,
            )
        )
        return {(day, stage_id): (reached, paid) for day, stage_id, reached, paid in rows}

    @api.model
    def _get_days(self, company, date_from, date_to, kinds):
        """The figures of ``kinds`` of each day of the period, computed from
        the ledger and the collections (``collection.kpi.day`` keeps them)."""
        readers = {
            "credit_sales": self._get_credit_sales_by_day,
            "receivable_change": self._get_receivable_change_by_day,
            "cash": self._get_cash_collected_by_day,
            "stages": self._get_stage_effectiveness_by_day,
        }
        return {kind: readers[kind](company, date_from, date_to) for kind in kinds}

    @api.model
    def _get_kpis(self, company, date_from, date_to):
        with self._reporting_settings():
            return self._read_kpis(company, date_from, date_to)

    @api.model
    def _read_kpis(self, company, date_from, date_to):
        # Each receivables and sales figure is read once and shared by the
        # KPIs that use it.
        Day = self.env["collection.kpi.day"]
        sales_days = Day._read_days(
            company, min(date_from, self._get_countback_start(date_to)), date_to, COMPANY_FIGURES
        )
        period_days = Day._read_days(company, date_from, date_to, ACTIVITY_FIGURES)
        ending = self._get_aging(company, date_to)
        sales = self._get_credit_sales(company, date_from, date_to, days=sales_days)
        dso_simple = self._get_dso_simple(
            company, date_from, date_to, ending_aging=ending, period_sales=sales
        )
        best_simple = self._get_dso_simple(
            company, date_from, date_to, current_only=True, ending_aging=ending, period_sales=sales
        )
        monthly_sales = self._get_monthly_credit_sales(company, date_to, days=sales_days)
        dso_countback = self._get_dso_countback(
            company, date_to, ending_aging=ending, monthly_sales=monthly_sales
        )
        best_countback = self._get_dso_countback(
            company, date_to, current_only=True, ending_aging=ending, monthly_sales=monthly_sales
        )
        recovery_amount, recovery_count = self._get_recovery_rate(company, date_from, date_to)
        cash_collected, cash_collected_by_stage = self._get_cash_collected(
            company, date_from, date_to, days=period_days
        )
        return {
            "cash_collected": cash_collected,
            "cash_collected_by_stage": cash_collected_by_stage,
            "stage_effectiveness": self._get_stage_effectiveness(
                company, date_from, date_to, days=period_days
            ),
            "recovery_rate": recovery_amount,
            "recovery_rate_count": recovery_count,
            "median_days_to_collect": self._get_median_days_to_collect(company, date_from, date_to),
            "dso_simple": dso_simple,
            "best_dso_simple": best_simple,
            "add_simple": dso_simple - best_simple,
            "dso_countback": dso_countback,
            "best_dso_countback": best_countback,
            "add_countback": dso_countback - best_countback,
            "cei": self._get_cei(company, date_from, date_to, ending_aging=ending, days=sales_days),
            "promise_kept_rate": self._get_promise_kept_rate(company, date_from, date_to),
            "sent_to_legal": self._get_sent_to_legal(company, date_from, date_to),
            **{f"aging_{bucket}": amount for bucket, amount in ending.items()},
        }
