"""The late payment laws that the late charge rule's presets follow.

Each law is a small rule set: which reference rate, when it is read, the
margin, how the rate is rounded, whether interest compounds, the day count,
the fixed compensation, and which customers it applies to. A preset copies
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


def _statutory(**values):
    """Between businesses: a reference rate plus a margin, EUR 40 per invoice
    (Directive 2011/7/EU, art. 6), simple interest on actual/365."""
    return {
        "interest_type": "statutory",
        "rate_fixed": False,
        "rate_rounding": "none",
        "compounding": "none",
        "day_count": "act_365",
        "compensation_type": "eu",
        "customer_scope": "business",
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
        {
            "interest_type": "contractual",
            "contractual_rate": 4.0,
            "contractual_period": "year",
            "compounding": "none",
            "day_count": "act_365",
            "compensation_type": "none",
            "customer_scope": "consumer",
        },
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
        "fr",
        "France (Code de commerce L441-10)",
        "France, Code de commerce L441-10 and D441-5: ECB rate in force on 1 January or 1 July of "
        "the half-year, plus 10 points; EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=10.0),
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
        "Germany, § 288 (1) BGB: Bundesbank base rate of each day, plus 5 points; no lump sum "
        "(§ 288 (5) excludes consumers); for consumers.",
        _statutory(
            reference_source="de_base",
            rate_rule="daily",
            margin=5.0,
            compensation_type="none",
            customer_scope="consumer",
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
        "nl",
        "Netherlands (art. 6:119a BW)",
        "Netherlands, art. 6:119a, 6:120 (2) and 6:96 (4) BW: ECB rate on the first day of the "
        "half-year, plus 8 points; each full year's interest is added to the amount it runs on; "
        "EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_start", margin=8.0, compounding="yearly"),
    ),
    LateChargeLaw(
        "es",
        "Spain (Ley 3/2004)",
        "Spain, Ley 3/2004, art. 7 and 8: ECB rate of the latest main refinancing operation before "
        "the half-year, plus 8 points; EUR 40; between businesses.",
        _statutory(reference_source="ecb", rate_rule="half_year_before", margin=8.0),
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
        {
            "interest_type": "contractual",
            "contractual_rate": 1.5,
            "contractual_period": "month",
            "compounding": "none",
            "compensation_type": "none",
            "customer_scope": "all",
        },
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
