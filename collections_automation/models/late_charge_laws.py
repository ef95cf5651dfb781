"""The late payment laws that the late charge rule's presets follow.

Each law is a small rule set: which reference rate, when it is read, the
margin, how the rate is rounded, whether interest compounds, the day count,
the fixed compensation, which customers it applies to, and the day interest
starts to run (the due date, or a formal notice). A preset copies
its law's values into the rule (every field stays adjustable there); the
rule computes interest from its fields alone
(``collection.late.charge.rule._compute_interest``).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LateChargeLaw:
    key: str
    label: str
    # The help line: the law, with its articles, and what it says.
    summary: str
    values: dict = field(default_factory=dict)

    def rule_values(self):
        return dict(self.values)


# What every preset sets unless its law says otherwise: simple interest on
# actual/365 from the day after the due date.
_COMMON = {
    "rate_fixed": False,
    "rate_rounding": "none",
    "compounding": "none",
    "day_count": "act_365",
    "interest_start": "due",
    "notice_days": 0,
    "notice_days_from": "next_day",
}


def _statutory(**values):
    """Between businesses: a reference rate plus a margin, EUR 40 per invoice
    (Directive 2011/7/EU, art. 6)."""
    return {
        **_COMMON,
        "interest_type": "statutory",
        "compensation_type": "eu",
        "customer_scope": "business",
        **values,
    }


def _legal_rate(**values):
    """For consumers: the legal interest rate a state publishes, as in force
    each day, no fixed compensation."""
    return _statutory(
        rate_rule="daily", margin=0.0, compensation_type="none", customer_scope="consumer", **values
    )


def _fixed_rate(rate, period, **values):
    """A fixed rate, ``rate`` percent a ``period`` (month or year), no fixed
    compensation."""
    return {
        **_COMMON,
        "interest_type": "contractual",
        "contractual_rate": rate,
        "contractual_period": period,
        "compensation_type": "none",
        **values,
    }


LAWS = [
    LateChargeLaw(
        "eu",
        "EU Late Payment Directive 2011/7/EU",
        "EU Directive 2011/7/EU, art. 2 (5) to (7) and 6: ECB main refinancing rate in force on "
        "1 January or 1 July of the half-year, plus 8 points; EUR 40 per invoice; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=8.0),
    ),
    LateChargeLaw(
        "at",
        "Austria (§ 456 UGB)",
        "Austria, § 456 and § 458 UGB: OeNB base rate (Basiszinssatz) in force on the last day of the "
        "half-year before, plus 9.2 points; EUR 40; between businesses.",
        _statutory(reference_source="at_base", rate_rule="half_year_before", margin=9.2),
    ),
    LateChargeLaw(
        "at_consumer",
        "Austria, consumers (§ 1000 ABGB)",
        "Austria, § 1000 (1) ABGB: 4% a year, no compensation; for consumers.",
        _fixed_rate(4.0, "year", customer_scope="consumer"),
    ),
    LateChargeLaw(
        "be",
        "Belgium (Law of 2 August 2002)",
        "Belgium, Law of 2 August 2002, art. 5 and 6: ECB rate of the latest main refinancing "
        "operation before the half-year, plus 8 points, rounded up to the next half point; EUR 40; "
        "between businesses.",
        _statutory(
            reference_source="ecb", rate_rule="half_year_before", margin=8.0, rate_rounding="half_point_up"
        ),
    ),
    LateChargeLaw(
        "be_consumer",
        "Belgium, consumers (Code of Economic Law, Book XIX)",
        "Belgium, Code of Economic Law, art. XIX.2 and Law of 5 May 1865, art. 2: the legal interest "
        "rate of each year, from the day after the 14 days that the first (free) reminder gives, counted "
        "from the working day after it was emailed; no compensation unless your terms provide one; for "
        "consumers.",
        _legal_rate(
            reference_source="be_legal",
            interest_start="notice",
            notice_days=14,
            notice_days_from="next_working_day",
        ),
    ),
    LateChargeLaw(
        "fr",
        "France (Code de commerce L441-10)",
        "France, Code de commerce L441-10 and D441-5: ECB rate in force on 1 January or 1 July of "
        "the half-year, plus 10 points; EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=10.0),
    ),
    LateChargeLaw(
        "fr_consumer",
        "France, consumers (Code civil art. 1231-6)",
        "France, Code civil art. 1231-6 and 1344, Code monétaire et financier L313-2: the taux de "
        "l'intérêt légal of each half-year for a creditor acting for its business, from the formal "
        "notice (mise en demeure); no compensation; for consumers.",
        _legal_rate(reference_source="fr_legal", interest_start="notice"),
    ),
    LateChargeLaw(
        "de",
        "Germany (§ 288 (2) BGB)",
        "Germany, § 288 (2) and (5), § 247 BGB: Bundesbank base rate of each day, plus 9 points; "
        "EUR 40; between businesses (the debtor is not a consumer).",
        _statutory(reference_source="de_base", rate_rule="daily", margin=9.0),
    ),
    LateChargeLaw(
        "de_consumer",
        "Germany, consumers (§ 288 (1) BGB)",
        "Germany, § 288 (1) and § 286 (1) BGB: Bundesbank base rate of each day, plus 5 points, from "
        "the reminder (Mahnung) after the due date (from the due date where it was agreed by the "
        "calendar, § 286 (2) 1); no lump sum (§ 288 (5) excludes consumers); for consumers.",
        _statutory(
            reference_source="de_base",
            rate_rule="daily",
            margin=5.0,
            compensation_type="none",
            customer_scope="consumer",
            interest_start="notice",
        ),
    ),
    LateChargeLaw(
        "ie",
        "Ireland (S.I. 580/2012)",
        "Ireland, S.I. 580/2012, reg. 4, 5 and 9: ECB rate in force on 1 January or 1 July of the "
        "half-year the payment became overdue, plus 8 points, one rate until payment (as the "
        "Department of Enterprise computes it); EUR 40, 70 or 100 by the invoice's value; between "
        "businesses.",
        _statutory(
            reference_source="ecb",
            rate_rule="half_year_start",
            rate_fixed=True,
            margin=8.0,
            compensation_type="ie",
        ),
    ),
    LateChargeLaw(
        "it",
        "Italy (D.Lgs. 231/2002)",
        "Italy, D.Lgs. 231/2002, art. 5 and 6: ECB rate in force on the first day of the half-year, "
        "plus 8 points; EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=8.0),
    ),
    LateChargeLaw(
        "it_consumer",
        "Italy, consumers (Codice civile art. 1224)",
        "Italy, Codice civile art. 1224 and 1284: the saggio degli interessi legali of each year, from "
        "the day after the due date (a sum of money is paid at the creditor's home, so the debtor is "
        "late without notice, art. 1182 (3) and 1219 (2) 3); no compensation; for consumers.",
        _legal_rate(reference_source="it_legal"),
    ),
    LateChargeLaw(
        "nl",
        "Netherlands (art. 6:119a BW)",
        "Netherlands, art. 6:119a, 6:120 (2) and 6:96 (4) BW: ECB rate on the first day of the "
        "half-year, plus 8 points; each full year's interest is added to the amount it runs on; "
        "EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=8.0, compounding="yearly"),
    ),
    LateChargeLaw(
        "nl_consumer",
        "Netherlands, consumers (art. 6:119 BW)",
        "Netherlands, art. 6:119, 6:81 and 6:82 BW: the statutory interest of each day, from the end of "
        "the term the reminder gives (14 days, as the reminder before collection costs must, art. 6:96 "
        "(6)); each full year's interest is added to the amount it runs on; no compensation; for "
        "consumers.",
        _legal_rate(
            reference_source="nl_legal", compounding="yearly", interest_start="notice", notice_days=14
        ),
    ),
    LateChargeLaw(
        "es",
        "Spain (Ley 3/2004)",
        "Spain, Ley 3/2004, art. 7 and 8: ECB rate of the latest main refinancing operation before "
        "the half-year, plus 8 points; EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_before", margin=8.0),
    ),
    LateChargeLaw(
        "es_consumer",
        "Spain, consumers (Código Civil art. 1108)",
        "Spain, Código Civil art. 1100, 1101 and 1108: the interés legal del dinero of each year, from "
        "the demand to pay (the formal notice); no compensation; for consumers.",
        _legal_rate(reference_source="es_legal", interest_start="notice"),
    ),
    LateChargeLaw(
        "uk",
        "United Kingdom (Late Payment of Commercial Debts (Interest) Act 1998)",
        "United Kingdom, Late Payment of Commercial Debts (Interest) Act 1998, s. 4 and 5A, and "
        "SI 2002/1675, art. 4: Bank of England Bank Rate in force on the 31 December or 30 June "
        "before interest starts to run, plus 8 points, fixed until payment; GBP 40, 70 or 100 by "
        "the size of the debt; between businesses.",
        _statutory(
            reference_source="boe",
            rate_rule="half_year_before",
            rate_fixed=True,
            margin=8.0,
            compensation_type="uk",
        ),
    ),
    LateChargeLaw(
        "contractual",
        "Contractual rate",
        "Contractual: the rate of your terms of sale, e.g. 1.5% a month; any customer.",
        _fixed_rate(1.5, "month", customer_scope="all"),
    ),
]
LAWS_BY_KEY = {law.key: law for law in LAWS}
PRESET_SELECTION = [(law.key, law.label) for law in LAWS]
PRESET_HELP = "Fills the rule as the law says; every field can still be adjusted.\n" + "\n".join(
    f"- {law.summary}" for law in LAWS
)

# Fixed compensation scales: the currency, whether a debt equal to a limit
# is in the band below it, and [(limit, amount)], the last for any larger debt.
COMPENSATION_SCALES = {
    "eu": ("EUR", False, [(None, 40.0)]),
    # Late Payment of Commercial Debts (Interest) Act 1998, s. 5A: "less than
    # £1,000", "£1,000 or more but less than £10,000", "£10,000 or more".
    "uk": ("GBP", False, [(1000.0, 40.0), (10000.0, 70.0), (None, 100.0)]),
    # S.I. 580/2012, Schedule: "not exceeding €1,000", "exceeding €1,000 but
    # not exceeding €10,000", "exceeding €10,000".
    "ie": ("EUR", True, [(1000.0, 40.0), (10000.0, 70.0), (None, 100.0)]),
}
