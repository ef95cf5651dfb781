"""What the score knows of an invoice at a moment: its customer's history
until then, and the invoice itself.

A row is an invoice (of the ledger, or one the customer might get next)
seen at a moment: only what was known before that day counts, and never the
invoice's own settlement. Training sees each invoice on the day it was
issued; scoring sees each open invoice today.
"""

from dataclasses import dataclass, fields

import numpy as np

from .ledger import EVENT_KINDS, NO_DAY

LATE_DAYS = 15
RECENT_COUNT = 3
WINDOW_DAYS = 90

# name: the group of facts it belongs to (the factors speak of groups).
FEATURES = {
    "settled_count": "history",
    "mean_delay": "history",
    "late_share": "history",
    "max_delay": "history",
    "delay_spread": "history",
    "recent_delay": "trend",
    "delay_trend": "trend",
    "open_overdue_count": "overdue",
    "open_overdue_ratio": "overdue",
    "amount_ratio": "amount",
    "log_amount": "amount",
    "terms_days": "terms",
    "relationship_days": "relationship",
    "invoices_90d": "relationship",
    "partial_share": "partial",
    "credit_share": "credit",
    "reminders_per_invoice": "reminders",
    "disputes_90d": "disputes",
    "promises_broken_90d": "promises",
    "promises_kept_90d": "promises",
    "due_in_holidays": "calendar",
    "holiday_delay": "calendar",
    "due_day_of_month": "calendar",
    "due_weekday": "calendar",
    "saved_method": "saved_method",
    # The invoice itself, at the moment it is seen.
    "days_to_due": "invoice",
    "own_disputed": "invoice",
    "own_reminders": "invoice",
    "own_promised": "invoice",
    "own_partly_paid": "invoice",
}
FEATURE_NAMES = tuple(FEATURES)
FEATURE_GROUPS = tuple(dict.fromkeys(FEATURES.values()))
_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}

# Rows of one customer are compared with all its invoices at once: a
# customer with more rows than this is done in chunks, to bound memory.
CHUNK_ROWS = 512


@dataclass
class Rows:
    """Invoices seen at a moment. ``own`` is the invoice's index in the ledger,
    -1 for an invoice the customer does not have yet."""

    partner_ids: np.ndarray
    amounts: np.ndarray
    invoice_days: np.ndarray
    due_days: np.ndarray
    moments: np.ndarray
    own: np.ndarray

    def __len__(self):
        return len(self.partner_ids)

    @classmethod
    def of_ledger(cls, ledger, indexes, moments=None):
        """The ledger's invoices ``indexes``, each seen on the day it was issued
        (or at ``moments``)."""
        indexes = np.asarray(indexes, dtype=np.int64)
        return cls(
            partner_ids=ledger.partner_ids[indexes],
            amounts=ledger.amounts[indexes],
            invoice_days=ledger.invoice_days[indexes],
            due_days=ledger.due_days[indexes],
            moments=ledger.invoice_days[indexes] if moments is None else np.asarray(moments, dtype=np.int32),
            own=indexes,
        )

    def followed_by(self, other):
        """These rows, then ``other``'s."""
        return Rows(
            **{
                field.name: np.r_[getattr(self, field.name), getattr(other, field.name)]
                for field in fields(self)
            }
        )


def holiday_flags(days):
    """Whether each day falls in the summer or the year-end holidays (July,
    August, 20 December to 6 January), when many customers' accounts
    payable slow down."""
    days = np.asarray(days, dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    month_numbers = months.astype(np.int64) % 12 + 1
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return (
        np.isin(month_numbers, (7, 8))
        | ((month_numbers == 12) & (day_of_month >= 20))
        | ((month_numbers == 1) & (day_of_month <= 6))
    )


def day_of_month(days):
    days = np.asarray(days, dtype="datetime64[D]")
    return (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def build_features(ledger, rows):
    """The feature matrix of ``rows`` (float, NaN where unknown)."""
    matrix = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
    if not len(rows):
        return matrix
    matrix[:, _INDEX["log_amount"]] = np.log1p(np.maximum(rows.amounts, 0.0))
    matrix[:, _INDEX["terms_days"]] = rows.due_days.astype(np.int64) - rows.invoice_days
    matrix[:, _INDEX["days_to_due"]] = rows.due_days.astype(np.int64) - rows.moments
    due = rows.due_days.astype("datetime64[D]")
    matrix[:, _INDEX["due_in_holidays"]] = holiday_flags(rows.due_days)
    matrix[:, _INDEX["due_day_of_month"]] = day_of_month(rows.due_days)
    # 1970-01-01 was a Thursday: Monday is 0.
    matrix[:, _INDEX["due_weekday"]] = (due.astype(np.int64) + 3) % 7
    ledger_order = _partner_slices(ledger.partner_ids)
    event_order = np.argsort(ledger.event_partner_ids, kind="stable")
    event_slices = _partner_slices(ledger.event_partner_ids[event_order])
    ledger_holidays = holiday_flags(ledger.due_days)
    delays = ledger.delays
    settled = ledger.settled_mask()
    row_order = np.argsort(rows.partner_ids, kind="stable")
    for partner, row_slice in _partner_slices(rows.partner_ids[row_order]).items():
        row_indexes = row_order[row_slice]
        invoice_slice = ledger_order.get(partner, slice(0, 0))
        events = event_order[event_slices.get(partner, slice(0, 0))]
        for start in range(0, len(row_indexes), CHUNK_ROWS):
            chunk = row_indexes[start : start + CHUNK_ROWS]
            matrix[chunk] = _customer_features(
                ledger, rows, chunk, invoice_slice, events, delays, settled, ledger_holidays, matrix[chunk]
            )
    matrix[:, _INDEX["saved_method"]] = [
        ledger.token_days.get(partner, NO_DAY) <= moment
        for partner, moment in zip(rows.partner_ids, rows.moments, strict=True)
    ]
    return matrix


def _partner_slices(sorted_partner_ids):
    """{partner: slice} of an array sorted by partner."""
    if not len(sorted_partner_ids):
        return {}
    starts = np.flatnonzero(np.r_[True, sorted_partner_ids[1:] != sorted_partner_ids[:-1]])
    ends = np.r_[starts[1:], len(sorted_partner_ids)]
    return {
        int(sorted_partner_ids[start]): slice(int(start), int(end))
        for start, end in zip(starts, ends, strict=True)
    }


def _customer_features(ledger, rows, chunk, invoices, events, delays, settled, ledger_holidays, out):
    """The history features of rows ``chunk``, all of one customer whose
    invoices are the ledger's slice ``invoices``."""
    moments = rows.moments[chunk].astype(np.int64)[:, None]
    own = rows.own[chunk][:, None]
    index = np.arange(invoices.start, invoices.stop)[None, :]
    not_own = index != own
    issued_before = (ledger.invoice_days[invoices][None, :] < moments) & not_own
    settled_days = ledger.settled_days[invoices].astype(np.int64)[None, :]
    known = settled[invoices][None, :] & (settled_days < moments) & not_own
    delay = np.broadcast_to(delays[invoices][None, :].astype(np.float64), known.shape)
    count = known.sum(axis=1)
    has_history = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        known_delays = np.where(known, delay, np.nan)
        late = np.where(known, delay >= LATE_DAYS, np.nan)
        out[:, _INDEX["settled_count"]] = count
        out[:, _INDEX["mean_delay"]] = _nan_reduce(np.nanmean, known_delays, has_history)
        out[:, _INDEX["late_share"]] = _nan_reduce(np.nanmean, late, has_history)
        out[:, _INDEX["max_delay"]] = _nan_reduce(np.nanmax, known_delays, has_history)
        out[:, _INDEX["delay_spread"]] = _nan_reduce(np.nanstd, known_delays, count > 1)
        recent = _recent_mean(known_delays, np.where(known, settled_days, -1), RECENT_COUNT)
        out[:, _INDEX["recent_delay"]] = recent
        out[:, _INDEX["delay_trend"]] = recent - out[:, _INDEX["mean_delay"]]
        payments = np.where(known, ledger.payment_counts[invoices][None, :] > 1, np.nan)
        out[:, _INDEX["partial_share"]] = _nan_reduce(np.nanmean, payments, has_history)
        issued_count = issued_before.sum(axis=1)
        credited = np.where(issued_before, ledger.credited_flags[invoices][None, :], np.nan)
        out[:, _INDEX["credit_share"]] = _nan_reduce(np.nanmean, credited, issued_count > 0)
        overdue = issued_before & (ledger.due_days[invoices][None, :] < moments) & (settled_days >= moments)
        amounts = ledger.amounts[invoices][None, :]
        usual = _nan_reduce(_row_nanmedian, np.where(issued_before, amounts, np.nan), issued_count > 0)
        out[:, _INDEX["open_overdue_count"]] = overdue.sum(axis=1)
        out[:, _INDEX["open_overdue_ratio"]] = (overdue * amounts).sum(axis=1) / usual
        out[:, _INDEX["amount_ratio"]] = rows.amounts[chunk] / usual
        first = np.where(issued_before, ledger.invoice_days[invoices][None, :], NO_DAY).min(axis=1)
        out[:, _INDEX["relationship_days"]] = np.where(issued_count > 0, moments[:, 0] - first, 0)
        out[:, _INDEX["invoices_90d"]] = (
            issued_before & (ledger.invoice_days[invoices][None, :] >= moments - WINDOW_DAYS)
        ).sum(axis=1)
        holidays = known & ledger_holidays[invoices][None, :]
        out[:, _INDEX["holiday_delay"]] = _nan_reduce(
            np.nanmean, np.where(holidays, delay, np.nan), holidays.any(axis=1)
        )
    own_index = rows.own[chunk]
    first_payment = np.where(
        own_index >= 0, ledger.first_payment_days[np.maximum(own_index, 0)].astype(np.int64), NO_DAY
    )
    own_settled = np.where(
        own_index >= 0, ledger.settled_days[np.maximum(own_index, 0)].astype(np.int64), NO_DAY
    )
    out[:, _INDEX["own_partly_paid"]] = (first_payment < moments[:, 0]) & (own_settled >= moments[:, 0])
    _event_features(ledger, invoices, events, moments, own, known, count, out)
    return out


def _event_features(ledger, invoices, events, moments, own, known, count, out):
    kinds = ledger.event_kinds[events][None, :]
    event_days = ledger.event_days[events].astype(np.int64)[None, :]
    before = event_days < moments
    recent = before & (event_days >= moments - WINDOW_DAYS)
    for name, kind in (
        ("disputes_90d", "dispute"),
        ("promises_broken_90d", "promise_broken"),
        ("promises_kept_90d", "promise_kept"),
    ):
        out[:, _INDEX[name]] = (recent & (kinds == EVENT_KINDS.index(kind))).sum(axis=1)
    own_move = np.where(own[:, 0] >= 0, ledger.move_ids[np.maximum(own[:, 0], 0)], -1)[:, None]
    on_own = before & (ledger.event_move_ids[events][None, :] == own_move)
    out[:, _INDEX["own_disputed"]] = (on_own & (kinds == EVENT_KINDS.index("dispute"))).any(axis=1)
    out[:, _INDEX["own_reminders"]] = (on_own & (kinds == EVENT_KINDS.index("reminder"))).sum(axis=1)
    out[:, _INDEX["own_promised"]] = (on_own & (kinds == EVENT_KINDS.index("promise"))).any(axis=1)
    # Reminders of the invoices settled before the moment, per such invoice.
    reminder = kinds == EVENT_KINDS.index("reminder")
    position = {int(move_id): offset for offset, move_id in enumerate(ledger.move_ids[invoices])}
    event_invoice = np.array([position.get(int(move_id), -1) for move_id in ledger.event_move_ids[events]])
    on_known = np.zeros((known.shape[0], len(events)), dtype=bool)
    if len(events):
        valid = event_invoice >= 0
        on_known[:, valid] = known[:, event_invoice[valid]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, _INDEX["reminders_per_invoice"]] = np.where(
            count > 0, (before & reminder & on_known).sum(axis=1) / count, np.nan
        )


def _nan_reduce(function, values, mask):
    result = np.full(values.shape[0], np.nan)
    if mask.any():
        result[mask] = function(values[mask], axis=1)
    return result


def _row_nanmedian(values, axis=1):
    """np.nanmedian of each row, without NumPy's per-row fallback for small
    arrays (half the scoring's feature time at 100,000 invoices): NaN sorts
    last, and a row's median is the middle of its ``count`` values."""
    assert axis == 1
    ordered = np.sort(values, axis=1)
    count = (~np.isnan(values)).sum(axis=1)
    rows = np.arange(len(values))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, count // 2]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (low + high) / 2, np.nan)


def _recent_mean(values, order_keys, count):
    """The mean of each row's ``count`` values with the highest keys (NaN
    values are not counted)."""
    if not values.shape[1]:
        return np.full(values.shape[0], np.nan)
    keep = min(count, values.shape[1])
    top = np.argsort(-order_keys, axis=1, kind="stable")[:, :keep]
    picked = np.take_along_axis(values, top, axis=1)
    picked = np.where(np.take_along_axis(order_keys, top, axis=1) >= 0, picked, np.nan)
    with np.errstate(invalid="ignore"):
        result = np.full(values.shape[0], np.nan)
        has = ~np.isnan(picked).all(axis=1)
        result[has] = np.nanmean(picked[has], axis=1)
    return result
