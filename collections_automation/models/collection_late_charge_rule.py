import calendar
import math
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Command, Domain
from odoo.tools import format_amount, format_date

from .collection_reference_rate import REFERENCE_SOURCES
from .late_charge_laws import COMPENSATION_SCALES, LAWS_BY_KEY, PRESET_HELP, PRESET_SELECTION


def round_rate(rate, rounding):
    """``rate`` rounded as a rule's ``rate_rounding`` says."""
    if rounding == "half_point_up":
        # round() first: 10.5 + 8 must stay 18.5, not float noise above it.
        return math.ceil(round(rate * 2, 6)) / 2
    return round(rate, 6)


def charge_product_field(charge_type, label):
    """The product of the charge invoice lines of ``charge_type``."""
    return fields.Many2one(
        "product.product", string=label, default=lambda self: self._default_product(charge_type)
    )


def charge_account_field(label):
    """The income account of one type of charge lines."""
    return fields.Many2one(
        "account.account", string=label, check_company=True, help="When empty, the product's income account."
    )


class CollectionLateChargeRule(models.Model):
    """How late charges are computed for the invoices of a process: the
    law's interest (a reference rate plus a margin) or a contractual rate,
    the fixed compensation per invoice, a late fee, and when they apply."""

    _name = "collection.late.charge.rule"
    _description = "Collection Late Charge Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    preset = fields.Selection(PRESET_SELECTION, help=PRESET_HELP)
    interest_type = fields.Selection(
        [("none", "No interest"), ("statutory", "Reference rate plus margin"), ("contractual", "Fixed rate")],
        required=True,
        default="statutory",
    )
    reference_source = fields.Selection(REFERENCE_SOURCES, default="ecb")
    rate_rule = fields.Selection(
        [
            ("daily", "Rate in force each day"),
            ("half_year_start", "Rate in force on 1 January / 1 July of the half-year"),
            ("half_year_before", "Rate in force on 31 December / 30 June before the half-year"),
        ],
        string="Reference rate applied",
        default="half_year_start",
    )
    rate_fixed = fields.Boolean(
        string="Fixed when interest starts",
        help="The rate read for the first day late holds until payment (the United Kingdom, Ireland); "
        "otherwise each day takes its own.",
    )
    margin = fields.Float(string="Margin (points)", digits=(5, 3), default=8.0)
    rate_rounding = fields.Selection(
        [("none", "Not rounded"), ("half_point_up", "Rounded up to the next half point")],
        string="Rate rounding",
        required=True,
        default="none",
        help="How the reference rate plus the margin is rounded, where the law rounds it (Belgium).",
    )
    compounding = fields.Selection(
        [("none", "Simple interest"), ("yearly", "Yearly: each year's interest joins the amount it runs on")],
        required=True,
        default="none",
        help="Yearly: at each anniversary of the first day late, the interest of the year ended is added "
        "to the amount the interest runs on (the Netherlands, art. 6:119a BW).",
    )
    interest_start = fields.Selection(
        [("due", "The day after the due date"), ("notice", "After the formal notice")],
        string="Interest runs from",
        required=True,
        default="due",
        help="After the formal notice: from the end of the days the invoice's formal notice gives the "
        "customer (the notice is the first reminder emailed after the due date, or the date an accountant "
        "sets on the invoice); no interest before a notice. The laws that need a notice before a consumer "
        "owes interest (Germany, France, Belgium, Spain, the Netherlands) say so.",
    )
    notice_days = fields.Integer(
        string="Days the notice gives",
        help="Interest runs from the day after these days have passed (Belgium: the 14 days of the first "
        "reminder; the Netherlands: the term of the reminder).",
    )
    notice_days_from = fields.Selection(
        [
            ("next_day", "The day after the notice"),
            ("next_working_day", "The working day after the notice"),
            ("third_working_day", "The third working day after the notice"),
        ],
        string="Days counted from",
        required=True,
        default="next_day",
        help="The first of the days the notice gives. Working days are those of the company's working "
        "calendar. Belgium (art. XIX.2 of the Code of Economic Law) counts the 14 days from the working day "
        "after a reminder sent by email, the third after one sent on paper. Belgian law counts Saturdays "
        "as working days: a calendar closed on Saturdays gives the customer a day more, never less.",
    )
    contractual_rate = fields.Float(string="Rate (%)", digits=(5, 3))
    contractual_period = fields.Selection(
        [("month", "a month"), ("year", "a year")], string="Per", default="month"
    )
    day_count = fields.Selection(
        [
            ("act_365", "Actual/365"),
            ("act_360", "Actual/360"),
            ("act_act", "Actual/actual (366 in leap years)"),
        ],
        required=True,
        default="act_365",
        help="The days in a year that the yearly rate is divided by.",
    )
    compensation_type = fields.Selection(
        [
            ("none", "None"),
            ("eu", "EUR 40 per invoice"),
            ("uk", "GBP 40, 70 or 100 by the amount (United Kingdom)"),
            ("ie", "EUR 40, 70 or 100 by the amount (Ireland)"),
            ("fixed", "Fixed amount"),
        ],
        string="Fixed compensation",
        required=True,
        default="eu",
    )
    compensation_amount = fields.Monetary(currency_field="currency_id")
    fee_type = fields.Selection(
        [("none", "None"), ("fixed", "Fixed amount"), ("percent", "Percentage of the amount due")],
        string="Late fee",
        required=True,
        default="none",
    )
    fee_amount = fields.Monetary(currency_field="currency_id")
    fee_percent = fields.Float(string="Fee (%)", digits=(5, 2))
    fee_frequency = fields.Selection(
        [("invoice", "Once per invoice"), ("stage", "At every stage that charges")],
        default="invoice",
        required=True,
    )
    customer_scope = fields.Selection(
        [("business", "Businesses"), ("consumer", "Consumers"), ("all", "All customers")],
        string="Applies to",
        required=True,
        default="business",
        help="Businesses: customers that are companies, have a VAT number, or are marked as a business "
        "on their form (sole traders are businesses under the EU directive and the UK Act). Consumers: "
        "every other customer. The statutory rules between businesses never charge a consumer.",
    )
    minimum_amount = fields.Monetary(
        currency_field="currency_id", help="No charge on an invoice with less than this still due."
    )
    # The charge invoice
    journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'sale')]",
        check_company=True,
        help="The sales journal of the charge invoices; when empty, the late invoice's.",
    )
    interest_product_id = charge_product_field("interest", "Interest product")
    interest_account_id = charge_account_field("Interest account")
    compensation_product_id = charge_product_field("compensation", "Compensation product")
    compensation_account_id = charge_account_field("Compensation account")
    fee_product_id = charge_product_field("fee", "Fee product")
    fee_account_id = charge_account_field("Fee account")
    auto_post = fields.Boolean(
        string="Post at once",
        help="Post the charge invoices when the stage runs; otherwise they wait in draft, in Late Charges "
        "to Approve, for an accountant to post.",
    )

    _notice_days_positive = models.Constraint(
        "CHECK(notice_days >= 0)", "The days a formal notice gives cannot be negative."
    )

    def _default_product(self, charge_type):
        return self.env.ref(f"collections_automation.product_late_{charge_type}", raise_if_not_found=False)

    @api.constrains("interest_type", "reference_source", "rate_rule", "contractual_rate")
    def _check_interest(self):
        for rule in self:
            if rule.interest_type == "statutory" and not (rule.reference_source and rule.rate_rule):
                raise ValidationError(
                    self.env._("Rule %(rule)s: choose the reference rate and how it applies.", rule=rule.name)
                )
            if rule.interest_type == "contractual" and rule.contractual_rate <= 0:
                raise ValidationError(
                    self.env._("Rule %(rule)s: the contractual rate must be above zero.", rule=rule.name)
                )

    @api.onchange("preset")
    def _onchange_preset(self):
        if self.preset:
            self.update(self._get_preset_values(self.preset))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("preset"):
                vals.update({**self._get_preset_values(vals["preset"]), **vals})
        return super().create(vals_list)

    @api.model
    def _get_preset_values(self, preset):
        return LAWS_BY_KEY[preset].rule_values()

    # ------------------------------------------------------------------
    # Computation
    # ------------------------------------------------------------------

    def _applies_to(self, invoice):
        """Whether late charges may be claimed on ``invoice``: waivers, a
        business customer where required, the minimum amount."""
        self.ensure_one()
        customer = invoice.commercial_partner_id
        if invoice.collection_late_charge_waived or customer.collection_late_charge_waived:
            return False
        is_business = customer._collection_is_business()
        if (self.customer_scope == "business" and not is_business) or (
            self.customer_scope == "consumer" and is_business
        ):
            return False
        minimum = self.currency_id._convert(
            self.minimum_amount, invoice.currency_id, invoice.company_id, fields.Date.context_today(self)
        )
        return invoice.currency_id.compare_amounts(invoice.amount_residual, minimum) >= 0

    def _compute_interest(self, invoice, until):
        """Interest per day late, from the day it starts to run
        (_get_interest_start) to ``until`` (the day of computation, or of the last payment), on the
        amount still due that day, plus, when the rule compounds, the
        interest of each full year ended. Returns the amount, in the
        invoice's currency, and its periods: (first day, last day, days,
        base, yearly rate in percent, days in the year)."""
        self.ensure_one()
        start = self._get_interest_start(invoice)
        if self.interest_type == "none" or not start or until < start:
            return 0.0, []
        currency = invoice.currency_id
        principal, payments = self._get_interest_base(invoice)
        rate_of = self._get_yearly_rate_function(start)
        compounds = self.compounding == "yearly"
        periods = []
        paid = added = year_interest = total = 0.0
        year = 1
        next_anniversary = start + relativedelta(years=1)
        pending = sorted(payments)
        day = start
        while day <= until:
            if compounds and day == next_anniversary:
                # The year's interest joins the amount the interest runs on.
                added += currency.round(year_interest)
                year_interest = 0.0
                year += 1
                next_anniversary = start + relativedelta(years=year)
            # A payment stops the interest on what it paid after its day.
            while pending and pending[0][0] < day:
                paid += pending.pop(0)[1]
            still_due = currency.round(principal - paid)
            base = currency.round(still_due + added) if currency.compare_amounts(still_due, 0.0) > 0 else 0.0
            key = (base, rate_of(day), self._get_days_in_year(day))
            day_interest = base * key[1] / 100 / key[2]
            year_interest += day_interest
            total += day_interest
            if periods and periods[-1][1] == day - timedelta(days=1) and periods[-1][3:] == key:
                first, _last, days, *_rest = periods[-1]
                periods[-1] = (first, day, days + 1, *key)
            else:
                periods.append((day, day, 1, *key))
            day += timedelta(days=1)
        periods = [period for period in periods if period[3] > 0]
        return currency.round(total), periods

    def _get_interest_start(self, invoice):
        """The first day of interest on ``invoice``: the day after its due
        date, or, when interest runs from the formal notice, the day after
        the notice and the days it gives; None when it does not run yet."""
        self.ensure_one()
        due = invoice.invoice_date_due
        if not due:
            return None
        start = due + timedelta(days=1)
        if self.interest_start == "notice":
            notice = invoice.collection_notice_date
            if not notice:
                return None
            term_start = self._get_notice_term_start(invoice, notice)
            start = max(start, term_start + timedelta(days=self.notice_days))
        return start

    def _get_notice_term_start(self, invoice, notice):
        """The first of the days that a formal notice sent on ``notice``
        gives the customer of ``invoice``."""
        self.ensure_one()
        if self.notice_days_from == "next_day":
            return notice + timedelta(days=1)
        working_days = 3 if self.notice_days_from == "third_working_day" else 1
        return invoice.company_id._get_collection_working_day(notice, working_days)

    def _get_interest_base(self, invoice):
        """The invoice's amount, less what its credit notes took off (never
        owed, so no interest from the start), and its payments as (day,
        amount) in the invoice's currency."""
        principal = invoice.amount_total
        payments = []
        receivable = invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        for partial in receivable.matched_credit_ids:
            counterpart = partial.credit_move_id
            if counterpart.move_id.move_type == "out_refund":
                principal -= partial.debit_amount_currency
            else:
                payments.append((counterpart.date, partial.debit_amount_currency))
        return principal, payments

    def _get_yearly_rate_function(self, start):
        """A function of the day giving the yearly rate in percent, for
        interest that starts to run on ``start``."""
        if self.interest_type == "contractual":
            yearly = self.contractual_rate * (12 if self.contractual_period == "month" else 1)
            return lambda _day: yearly
        table = self.env["collection.reference.rate"]._get_rate_table(self.reference_source)
        reference_day = getattr(self, f"_get_reference_day_{self.rate_rule}")
        margin, rounding = self.margin, self.rate_rounding
        if self.rate_fixed:
            fixed = round_rate(table.rate_on(reference_day(start)) + margin, rounding)
            return lambda _day: fixed
        return lambda day: round_rate(table.rate_on(reference_day(day)) + margin, rounding)

    @api.model
    def _get_reference_day_daily(self, day):
        return day

    @api.model
    def _get_reference_day_half_year_start(self, day):
        return date(day.year, 1 if day.month <= 6 else 7, 1)

    @api.model
    def _get_reference_day_half_year_before(self, day):
        """The 31 December or 30 June before ``day``'s half-year."""
        return date(day.year - 1, 12, 31) if day.month <= 6 else date(day.year, 6, 30)

    def _get_days_in_year(self, day):
        if self.day_count == "act_360":
            return 360
        if self.day_count == "act_act" and calendar.isleap(day.year):
            return 366
        return 365

    def _compute_compensation(self, invoice, day):
        """The fixed compensation for ``invoice``, in its currency."""
        self.ensure_one()
        if self.compensation_type == "none":
            return 0.0
        if self.compensation_type == "fixed":
            return self.currency_id._convert(
                self.compensation_amount, invoice.currency_id, invoice.company_id, day
            )
        currency_code, limit_included, scale = COMPENSATION_SCALES[self.compensation_type]
        currency = self.env.ref(f"base.{currency_code}")
        debt = invoice.currency_id._convert(invoice.amount_total, currency, invoice.company_id, day)
        # Below the limit, or at it where the law's band includes it.
        below = 1 if limit_included else 0
        amount = next(
            fixed for limit, fixed in scale if limit is None or currency.compare_amounts(debt, limit) < below
        )
        return currency._convert(amount, invoice.currency_id, invoice.company_id, day)

    def _compute_fee(self, invoice, day):
        """The late fee for ``invoice``, in its currency."""
        self.ensure_one()
        if self.fee_type == "fixed":
            return self.currency_id._convert(self.fee_amount, invoice.currency_id, invoice.company_id, day)
        if self.fee_type == "percent":
            return invoice.currency_id.round(invoice.amount_residual * self.fee_percent / 100)
        return 0.0

    # ------------------------------------------------------------------
    # Charge invoices
    # ------------------------------------------------------------------

    @api.model
    def _get_charged_amounts(self, invoices):
        """What the charge invoices of ``invoices`` claimed so far (drafts
        included, cancelled ones not): {(invoice id, charge type): amount}."""
        groups = self.env["account.move.line"]._read_group(
            self._get_charged_lines_domain(invoices),
            groupby=["move_id", "collection_charge_type"],
            aggregates=["price_subtotal:sum"],
        )
        charged = {}
        for move, charge_type, amount in groups:
            key = (move.collection_late_invoice_id.id, charge_type)
            charged[key] = charged.get(key, 0.0) + amount
        return charged

    @api.model
    def _get_charged_lines_domain(self, invoices):
        return (
            Domain("move_id.collection_late_invoice_id", "in", invoices.ids)
            & Domain("move_id.state", "!=", "cancel")
            & Domain("collection_charge_type", "!=", False)
        )

    def _prepare_charges(self, invoice, day, charged):
        """The charges of ``invoice`` on ``day``, less what its earlier
        charge invoices claimed (``charged``, as _get_charged_amounts):
        [(charge type, amount, label)]. Interest is charged as it accrues;
        the compensation once per invoice; the fee once or at each stage."""
        self.ensure_one()
        currency = invoice.currency_id
        charges = []
        interest, periods = self._compute_interest(invoice, day)
        already = charged.get((invoice.id, "interest"), 0.0)
        if currency.compare_amounts(interest, already) > 0:
            label = self._get_interest_label(invoice, periods, already)
            charges.append(("interest", currency.round(interest - already), label))
        if not charged.get((invoice.id, "compensation")):
            compensation = self._compute_compensation(invoice, day)
            if currency.compare_amounts(compensation, 0.0) > 0:
                label = self.env._("Fixed compensation for recovery costs, %(invoice)s", invoice=invoice.name)
                charges.append(("compensation", compensation, label))
        if self.fee_frequency == "stage" or not charged.get((invoice.id, "fee")):
            fee = self._compute_fee(invoice, day)
            if currency.compare_amounts(fee, 0.0) > 0:
                charges.append(("fee", fee, self.env._("Late fee, %(invoice)s", invoice=invoice.name)))
        return charges

    def _get_interest_label(self, invoice, periods, already):
        """The computation, readable on the invoice line: days, dates, base
        and rate of each period."""
        env = self.env
        day_count = dict(self._fields["day_count"]._description_selection(env))[self.day_count]
        lines = [
            env._(
                "Late payment interest, %(invoice)s due %(due)s (%(day_count)s):",
                invoice=invoice.name,
                due=format_date(env, invoice.invoice_date_due),
                day_count=day_count,
            )
        ]
        lines += [
            env._(
                "%(days)s days from %(first)s to %(last)s on %(base)s at %(rate)s%%",
                days=days,
                first=format_date(env, first),
                last=format_date(env, last),
                base=format_amount(env, base, invoice.currency_id),
                rate=f"{rate:g}",
            )
            for first, last, days, base, rate, _in_year in periods
        ]
        if already:
            lines.append(
                env._(
                    "less %(amount)s charged before", amount=format_amount(env, already, invoice.currency_id)
                )
            )
        return "\n".join(lines)

    def _prepare_charge_invoice_values(self, invoice, day, charges):
        """A customer invoice of ``charges`` for the late ``invoice``, due
        on ``day``."""
        self.ensure_one()
        return {
            "move_type": "out_invoice",
            "partner_id": invoice.partner_id.id,
            "currency_id": invoice.currency_id.id,
            "journal_id": (self.journal_id or invoice.journal_id).id,
            "invoice_date": day,
            "invoice_payment_term_id": False,
            "invoice_date_due": day,
            "invoice_origin": invoice.name,
            "collection_late_invoice_id": invoice.id,
            "invoice_line_ids": [
                Command.create(self._prepare_charge_line_values(charge_type, amount, label))
                for charge_type, amount, label in charges
            ],
        }

    def _prepare_charge_line_values(self, charge_type, amount, label):
        values = {"name": label, "quantity": 1, "price_unit": amount, "collection_charge_type": charge_type}
        if charge_type != "fee":
            # Interest and the compensation are damages, outside the scope
            # of VAT; a fee takes its product's taxes.
            values["tax_ids"] = [Command.clear()]
        if product := self[f"{charge_type}_product_id"]:
            values["product_id"] = product.id
        if account := self[f"{charge_type}_account_id"]:
            values["account_id"] = account.id
        return values
