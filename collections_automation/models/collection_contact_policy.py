from collections import defaultdict
from datetime import datetime, time, timedelta

from odoo import api, models
from odoo.fields import Domain
from odoo.tools import format_date

CONTACT_ACTIONS = ("email", "sms", "letter")
# How far ahead a deferred message looks for an allowed day.
HORIZON_DAYS = 60
WEEK_DAYS = 7


class CollectionContactPolicy(models.AbstractModel):
    """How often one customer may hear from collections, across every
    process and invoice of a company: at most so many messages a day and a
    week, never on the company's quiet days. The engine asks it before each
    stage that sends a message; a stage it holds back waits for the next
    allowed day, and the event log says why."""

    _name = "collection.contact.policy"
    _description = "Collection Contact Policy"

    @api.model
    def _filter_groups(self, groups):
        """The [(stage, enrollments)] the engine may run now; the others are
        deferred to their next allowed day, with the reason logged."""
        contacting = {
            index
            for index, (stage, group) in enumerate(groups)
            if stage and stage._contacts_customer() and not group[0]._is_retry_rerun(stage)
        }
        companies = self.env["res.company"].union(*(groups[index][1].company_id for index in contacting))
        if not contacting or not any(self._has_policy(company) for company in companies):
            return groups
        firsts = self.env["collection.enrollment"].union(*(groups[index][1][:1] for index in contacting))
        counts = self._get_recent_contacts(firsts)
        quiet_days = {}
        allowed, deferred = [], []
        for index, (stage, group) in enumerate(groups):
            if index not in contacting:
                allowed.append((stage, group))
                continue
            first = group[0]
            today = first._company_today()
            day, reason = self._get_next_contact_day(
                first.company_id, first.partner_id, today, counts, quiet_days
            )
            if day == today:
                allowed.append((stage, group))
                counts[first.partner_id.id, today] += 1
            else:
                deferred.append((stage, group, day, reason))
        self._defer(deferred)
        return allowed

    @api.model
    def _has_policy(self, company):
        return bool(
            company.collection_contact_max_per_day
            or company.collection_contact_max_per_week
            or company.collection_quiet_days
        )

    @api.model
    def _get_recent_contacts(self, enrollments):
        """{(customer id, day): messages sent} over the last week, in each
        company's calendar days. A message covering several invoices counts
        once."""
        counts = defaultdict(int)
        for company in enrollments.company_id:
            of_company = enrollments.filtered(lambda e, c=company: e.company_id == c)
            today = of_company[:1]._company_today()
            tz = company.partner_id.tz or self.env.user.tz or "UTC"
            since = datetime.combine(today - timedelta(days=WEEK_DAYS + 1), time.min)
            rows = (
                self.env["collection.event"]
                .sudo()
                .with_context(tz=tz)
                ._read_group(
                    Domain("partner_id", "in", of_company.partner_id.ids)
                    & Domain("company_id", "=", company.id)
                    & Domain("action", "in", CONTACT_ACTIONS)
                    & Domain("outcome", "=", "done")
                    & Domain("date", ">=", since),
                    groupby=["partner_id", "date:day"],
                    aggregates=["mail_message_id:count_distinct"],
                )
            )
            for partner, day_start, messages in rows:
                day = day_start.date() if isinstance(day_start, datetime) else day_start
                counts[partner.id, day] += messages
        return counts

    @api.model
    def _get_next_contact_day(self, company, partner, today, counts, quiet_days):
        """(the first day from ``today`` on which ``partner`` may get a
        message, why not today or False)."""
        reason = False
        for offset in range(HORIZON_DAYS):
            day = today + timedelta(days=offset)
            blocked = self._get_contact_block(company, partner, day, counts, quiet_days, today)
            if not blocked:
                return day, reason
            reason = reason or blocked
        return today + timedelta(days=HORIZON_DAYS), reason

    @api.model
    def _get_contact_block(self, company, partner, day, counts, quiet_days, today):
        """Why ``partner`` may get no message on ``day``, or False."""
        if company.collection_quiet_days and day in self._get_quiet_days(company, today, quiet_days):
            return self.env._(
                "%(day)s is a quiet day (no working hours in the company's calendar)",
                day=format_date(self.env, day, date_format="EEEE d MMM"),
            )
        per_day = company.collection_contact_max_per_day
        if per_day and counts[partner.id, day] >= per_day:
            return self.env._(
                "%(customer)s already got %(count)s message(s) on %(day)s (at most %(max)s a day)",
                customer=partner.display_name,
                count=counts[partner.id, day],
                day=format_date(self.env, day),
                max=per_day,
            )
        per_week = company.collection_contact_max_per_week
        week = sum(counts[partner.id, day - timedelta(days=back)] for back in range(WEEK_DAYS))
        if per_week and week >= per_week:
            return self.env._(
                "%(customer)s already got %(count)s message(s) in the seven days to %(day)s (at most %(max)s "
                "a week)",
                customer=partner.display_name,
                count=week,
                day=format_date(self.env, day),
                max=per_week,
            )
        return False

    @api.model
    def _get_quiet_days(self, company, today, cache):
        """The days without working hours in the company's working calendar
        (weekends, public holidays) from ``today`` over the horizon."""
        if company not in cache:
            cache[company] = company._get_collection_closed_days(today, today + timedelta(days=HORIZON_DAYS))
        return cache[company]

    @api.model
    def _defer(self, deferred):
        """Move each held-back stage to its allowed day, and log why."""
        by_day = defaultdict(lambda: self.env["collection.enrollment"])
        events = []
        for stage, group, day, reason in deferred:
            by_day[day] |= group
            message = self.env._(
                "%(reason)s: the stage waits until %(day)s.", reason=reason, day=format_date(self.env, day)
            )
            events += [
                enrollment._prepare_event_values("deferred", stage=stage, outcome="skipped", message=message)
                for enrollment in group
            ]
        for day, enrollments in by_day.items():
            enrollments.write({"next_action_date": day})
        self.env["collection.event"].sudo().create(events)
