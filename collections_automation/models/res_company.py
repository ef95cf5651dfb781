from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import ValidationError

RETRY_SCHEDULE_MAX_ATTEMPTS = 10
RETRY_SCHEDULE_MAX_DAYS = 60


def parse_retry_schedule(env, schedule):
    """The waits, in days, of a retry schedule such as "3, 7"; a clear error
    when it is anything else."""
    waits = [part.strip() for part in (schedule or "").split(",") if part.strip()]
    if not all(wait.isdigit() and 1 <= int(wait) <= RETRY_SCHEDULE_MAX_DAYS for wait in waits) or (
        len(waits) > RETRY_SCHEDULE_MAX_ATTEMPTS
    ):
        raise ValidationError(
            env._(
                "A retry schedule is a list of waits in days, separated by commas, such as “3, 7”: "
                "at most %(attempts)s waits of 1 to %(days)s days each (got “%(schedule)s”).",
                attempts=RETRY_SCHEDULE_MAX_ATTEMPTS,
                days=RETRY_SCHEDULE_MAX_DAYS,
                schedule=schedule,
            )
        )
    return [int(wait) for wait in waits]


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_default_process_id = fields.Many2one(
        "collection.process",
        string="Default collection process",
        domain="[('company_id', '=', id)]",
        help="The process of invoices that no segment rule fits.",
    )
    collection_grace_days = fields.Integer(
        string="Default grace period (days)",
        default=3,
        help="The grace period of new processes: days an invoice may be overdue before the engine "
        "enrolls it.",
    )
    collection_email_from = fields.Char(
        string="Collections sender",
        help="Sender of collection emails when the process sets none; the company's email when empty.",
    )
    collection_reply_to = fields.Char(
        string="Collections reply-to", help="Reply-to of collection emails when the process sets none."
    )
    collection_auto_enroll = fields.Boolean(
        string="Automatic enrollment",
        default=True,
        help="When off, the engine enrolls no invoice by itself in this company (overdue and pre-due "
        "triggers); enrollments still run their stages.",
    )
    collection_retry_schedule = fields.Char(
        string="Default retry schedule",
        default="3, 7",
        help="The retry schedule of new processes: after a soft decline (insufficient funds, a "
        "processing error), the saved payment method is charged again after these many days, one "
        "wait per new attempt, before the process moves on. Empty: no new attempt.",
    )

    collection_contact_max_per_day = fields.Integer(
        string="Messages per customer per day",
        default=1,
        help="At most this many collection messages (email, SMS, letter) to one customer in a day, "
        "across every process and invoice; a stage beyond it waits for the next allowed day. 0: no cap.",
    )
    collection_contact_max_per_week = fields.Integer(
        string="Messages per customer per week",
        default=3,
        help="At most this many collection messages to one customer in any seven days. 0: no cap.",
    )
    collection_quiet_days = fields.Boolean(
        string="Quiet days",
        default=True,
        help="No collection message on the days the company's working calendar does not work: weekends "
        "and public holidays. A stage due then waits for the next working day.",
    )

    @api.constrains("collection_contact_max_per_day", "collection_contact_max_per_week")
    def _check_collection_contact_caps(self):
        for company in self:
            if company.collection_contact_max_per_day < 0 or company.collection_contact_max_per_week < 0:
                raise ValidationError(self.env._("A contact cap is a number of messages, 0 for no cap."))

    @api.constrains("collection_retry_schedule")
    def _check_collection_retry_schedule(self):
        for company in self:
            parse_retry_schedule(self.env, company.collection_retry_schedule)

    def _get_collection_lang(self):
        """The language of what the engine writes for the company's desk
        (events, notes, pause reasons, tracked changes): the company's own,
        not the language of the scheduled action's user or of a customer
        acting on the payment page."""
        self.ensure_one()
        # sudo: a company's language is no secret to its users or to the engine.
        return self.env["res.lang"]._get_code(self.sudo().partner_id.lang or "en_US") or "en_US"

    # ------------------------------------------------------------------
    # The calendar of the company's collections
    # ------------------------------------------------------------------

    def _get_collection_tz(self):
        """The time zone of the company's calendar, on which every day of a
        collection is counted (enrolled, due, planned, closed, collected):
        its partner's, else its working calendar's, never the time zone of
        whoever asks, so that the engine, the desk and the KPIs agree on the
        day near midnight."""
        self.ensure_one()
        # sudo: a company's time zone is no secret to its users, and the
        # engine and the KPIs read it without access rules in the way.
        company = self.sudo()
        return company.partner_id.tz or company.resource_calendar_id.tz or "UTC"

    def _get_collection_date(self, moment):
        """The day of ``moment`` (a naive UTC datetime) on the company's
        calendar."""
        return pytz.utc.localize(moment).astimezone(pytz.timezone(self._get_collection_tz())).date()

    def _get_collection_today(self):
        """Today on the company's calendar: a reminder is due on the
        company's day, whatever the server's clock or the user's time zone
        says."""
        return self._get_collection_date(fields.Datetime.now())

    def _get_collection_days_overdue(self, due_date):
        """Days since ``due_date`` on the company's calendar; 0 when not due
        yet or without a due date."""
        if not due_date:
            return 0
        return max((self._get_collection_today() - due_date).days, 0)

    def _get_collection_closed_days(self, first, last):
        """The days from ``first`` to ``last`` without working hours in the
        company's working calendar (weekends, public holidays): the quiet
        days of the contact policy and the days a notice's term waits over."""
        self.ensure_one()
        calendar = self.resource_calendar_id
        if not calendar:
            return set()
        start, end = datetime.combine(first, time.min), datetime.combine(last, time.max)
        # The one door to the calendar's internal method that says which days have no working hours.
        unusual = calendar._get_unusual_days(start, end, self)
        return {fields.Date.to_date(day) for day, closed in unusual.items() if closed}

    def _get_collection_working_day(self, day, count=1):
        """The ``count``-th working day of the company's calendar after
        ``day``."""
        self.ensure_one()
        # A month and a half of closed days in a row is no calendar a notice
        # can be counted on; past it, every day counts.
        closed = self._get_collection_closed_days(day, day + timedelta(days=count + 45))
        while count:
            day += timedelta(days=1)
            if day not in closed:
                count -= 1
        return day
