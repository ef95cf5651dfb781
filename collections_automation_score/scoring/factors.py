"""The factors of a score, in words.

A factor is a group of facts (features.FEATURES) whose values moved the
probability of paying late away from a typical invoice's
(learner.group_effects); its sentence gives this customer's own figures.
"""

import math

from .features import FEATURE_NAMES, LATE_DAYS

# A group moving the probability less than this is not worth a line.
MIN_EFFECT = 0.02
MAX_FACTORS = 3
_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}


def pick_groups(effects, row):
    """The groups that moved ``row``'s probability most: those that raised
    it, or, when none did, those that lowered it. [(group, effect)]"""
    moved = sorted(
        ((group, values[row]) for group, values in effects.items()), key=lambda item: -abs(item[1])
    )
    raising = [(group, effect) for group, effect in moved if effect >= MIN_EFFECT]
    lowering = [(group, effect) for group, effect in moved if effect <= -MIN_EFFECT]
    return (raising or lowering)[:MAX_FACTORS]


def describe(env, currency, group, features, amount):
    """The sentence of ``group`` for a row whose ``features`` are given, of
    an invoice of ``amount``; None when its figures say nothing."""
    value = {name: features[index] for name, index in _INDEX.items()}
    ratio = value["amount_ratio"]
    value["usual_amount"] = amount / ratio if ratio and not math.isnan(ratio) else math.nan
    value["amount"] = amount
    return _SENTENCES[group](env, currency, value)


def _from_due_date(env, delay):
    """A delay in days, in words: before or after the due date."""
    days = round(delay)
    if days > 0:
        return env._("%(days)s days after the due date", days=days)
    if days < 0:
        return env._("%(days)s days before the due date", days=-days)
    return env._("on the due date")


def _history(env, currency, value):
    known = value["settled_count"]
    if not known:
        return env._("No invoice paid yet")
    return env._(
        "Paid %(late)s of %(count)s invoices %(days)s days late or more, %(when)s on average",
        late=round(value["late_share"] * known),
        count=int(known),
        days=LATE_DAYS,
        when=_from_due_date(env, value["mean_delay"]),
    )


def _trend(env, currency, value):
    if math.isnan(value["recent_delay"]):
        return None
    return env._(
        "Paid its last invoices %(recent)s on average, %(average)s over all",
        recent=_from_due_date(env, value["recent_delay"]),
        average=_from_due_date(env, value["mean_delay"]),
    )


def _overdue(env, currency, value):
    if not value["open_overdue_count"]:
        return env._("No invoice overdue")
    if math.isnan(value["usual_amount"]):
        return env._("%(count)s invoice(s) overdue", count=int(value["open_overdue_count"]))
    return env._(
        "%(count)s invoice(s) overdue, %(amount)s in all",
        count=int(value["open_overdue_count"]),
        amount=currency.format(value["open_overdue_ratio"] * value["usual_amount"]),
    )


def _amount(env, currency, value):
    if math.isnan(value["usual_amount"]):
        return None
    return env._(
        "Usual invoice %(usual)s, this one %(amount)s",
        usual=currency.format(value["usual_amount"]),
        amount=currency.format(value["amount"]),
    )


def _promises(env, currency, value):
    if not (value["promises_broken_90d"] or value["promises_kept_90d"]):
        return env._("No promise to pay in 90 days")
    return env._(
        "%(broken)s promise(s) broken and %(kept)s kept in 90 days",
        broken=int(value["promises_broken_90d"]),
        kept=int(value["promises_kept_90d"]),
    )


def _disputes(env, currency, value):
    return env._("%(count)s dispute(s) in 90 days", count=int(value["disputes_90d"]))


def _reminders(env, currency, value):
    if not value["settled_count"]:
        return None
    return env._("Needed %(count).1f reminders per paid invoice", count=value["reminders_per_invoice"])


def _partial(env, currency, value):
    if not value["settled_count"]:
        return None
    return env._(
        "Paid %(parts)s of %(count)s invoices in several payments",
        parts=round(value["partial_share"] * value["settled_count"]),
        count=int(value["settled_count"]),
    )


def _credit(env, currency, value):
    if math.isnan(value["credit_share"]):
        return None
    return env._("Credit notes on %(share)s%% of its invoices", share=round(100 * value["credit_share"]))


def _terms(env, currency, value):
    return env._("Payment terms of %(days)s days", days=int(value["terms_days"]))


def _relationship(env, currency, value):
    return env._(
        "Customer for %(days)s days, %(count)s invoice(s) in 90 days",
        days=int(value["relationship_days"]),
        count=int(value["invoices_90d"]),
    )


def _calendar(env, currency, value):
    if not value["due_in_holidays"]:
        return env._("Due on day %(day)s of the month", day=int(value["due_day_of_month"]))
    if math.isnan(value["holiday_delay"]):
        return env._("Due in the holidays")
    return env._(
        "Due in the holidays, when it paid %(when)s on average",
        when=_from_due_date(env, value["holiday_delay"]),
    )


def _saved_method(env, currency, value):
    if value["saved_method"]:
        return env._("Pays with a saved payment method")
    return env._("No saved payment method")


def _invoice(env, currency, value):
    facts = []
    if value["own_disputed"]:
        facts.append(env._("disputed"))
    if value["own_promised"]:
        facts.append(env._("promised"))
    if value["own_partly_paid"]:
        facts.append(env._("partly paid"))
    if value["own_reminders"]:
        facts.append(env._("%(count)s reminder(s) sent", count=int(value["own_reminders"])))
    if facts:
        return env._("This invoice: %(facts)s", facts=", ".join(facts))
    if value["days_to_due"] < 0:
        return env._("This invoice: %(days)s days overdue", days=-int(value["days_to_due"]))
    return env._("This invoice: due in %(days)s days", days=int(value["days_to_due"]))


_SENTENCES = {
    "history": _history,
    "trend": _trend,
    "overdue": _overdue,
    "amount": _amount,
    "promises": _promises,
    "disputes": _disputes,
    "reminders": _reminders,
    "partial": _partial,
    "credit": _credit,
    "terms": _terms,
    "relationship": _relationship,
    "calendar": _calendar,
    "saved_method": _saved_method,
    "invoice": _invoice,
}
