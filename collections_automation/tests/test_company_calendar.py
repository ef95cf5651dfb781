from odoo.tests import new_test_user, tagged

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestCompanyCalendar(CollectionsCommon):
    """A collection's days are the company's calendar days (Brussels here),
    whoever acts and wherever they are: at 23:30 UTC it is already the next
    day in Brussels, and a payment may be dated on another calendar."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def accountant(login, tz):
            return new_test_user(
                cls.env,
                login=login,
                groups="account.group_account_invoice",
                tz=tz,
                company_id=cls.env.company.id,
                company_ids=cls.env.company.ids,
            )

        cls.new_york_user = accountant("new_york_accountant", "America/New_York")
        cls.brussels_user = accountant("brussels_accountant", "Europe/Brussels")
        cls.utc_user = accountant("utc_accountant", "UTC")
        cls.kiritimati_user = accountant("kiritimati_accountant", "Pacific/Kiritimati")
        cls.invoice = cls._create_invoice(amount=1000.0)

    def _enroll(self, user):
        return self.invoice.with_user(user).collection_enroll(process_id=self.standard_process.id)

    def _pay_as(self, user, day, amount=None):
        self._pay(self.invoice.with_user(user), amount=amount, day=day)

    def _cash_collected(self):
        kpi = self.env["collection.kpi"]
        total, _by_stage = kpi._get_cash_collected(self.env.company, days(-5), days(40))
        return total

    def test_enrolled_late_in_the_evening_from_new_york_is_the_next_day_in_brussels(self):
        with self._at(DAY_0, hour=23, minute=30):
            enrollment = self._enroll(self.new_york_user)
            self.assertEqual(enrollment.enrolled_on, days(1))
            self.assertEqual(enrollment.with_user(self.new_york_user).days_overdue, 1)

    def test_a_payment_dated_on_the_utc_calendar_just_after_enrolling_is_cash_collected(self):
        # An online payment is dated on the payer's calendar (UTC for the
        # public user): still the day before, in Brussels.
        with self._at(DAY_0, hour=23, minute=30):
            enrollment = self._enroll(self.brussels_user)
        with self._at(DAY_0, hour=23, minute=40):
            self._pay_as(self.utc_user, day=DAY_0)
        self.assertEqual((enrollment.state, enrollment.enrolled_on), ("paid", days(1)))
        self.assertEqual(self._cash_collected(), 1000.0)

    def test_a_payment_dated_a_day_ahead_that_closes_the_collection_is_cash_collected(self):
        with self._at(DAY_0):
            enrollment = self._enroll(self.brussels_user)
        # 11:00 UTC is noon in Brussels and the next day in Kiritimati.
        with self._at(days(5), hour=11):
            self._pay_as(self.kiritimati_user, day=days(6))
        self.assertEqual((enrollment.state, enrollment.closed_on), ("paid", days(5)))
        self.assertEqual(self._cash_collected(), 1000.0)

    def test_payments_before_the_collection_or_after_its_cancellation_are_not_cash_collected(self):
        with self._at(days(-1)):
            self._pay_as(self.brussels_user, day=days(-1), amount=200.0)
        with self._at(DAY_0):
            enrollment = self._enroll(self.brussels_user)
        with self._at(days(2)):
            enrollment.with_user(self.collections_manager).action_cancel()
        with self._at(days(4)):
            self._pay_as(self.brussels_user, day=days(4))
        self.assertEqual((enrollment.state, self.invoice.payment_state), ("cancelled", "paid"))
        self.assertEqual(self._cash_collected(), 0.0)

    def test_without_a_partner_time_zone_the_working_calendar_says_the_day_for_everyone(self):
        self.env.company.partner_id.tz = False
        self.env.company.resource_calendar_id.tz = "Europe/Brussels"
        with self._at(DAY_0, hour=23, minute=30):
            seen = {
                user.login: self.env.company.with_user(user)._get_collection_today()
                for user in (self.new_york_user, self.utc_user, self.kiritimati_user)
            }
        self.assertEqual(set(seen.values()), {days(1)}, f"one calendar, whoever asks: {seen}")
