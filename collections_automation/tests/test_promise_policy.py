"""The promise to pay's policy: what a customer may promise, how often, and
what a broken or a tiny promise does to the reminders."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import DAY_0, CollectionsCommon, days


@tagged("post_install", "-at_install")
class TestPromisePolicy(CollectionsCommon):
    """A promise to pay holds the reminders; the policy keeps it from
    holding them for good."""

    def _enrolled(self, amount=1000.0):
        invoice = self._create_invoice(amount=amount)
        with self._at(DAY_0):
            return invoice.collection_enroll(process_id=self.standard_process.id)

    def _promise(self, enrollment, day, until, amount):
        with self._at(day):
            enrollment.action_promise_to_pay(until, amount)

    def test_an_open_promise_cannot_be_moved_later_or_lowered(self):
        self.standard_process.promise_min_share = 10
        enrollment = self._enrolled()
        self._promise(enrollment, days(3), days(10), 1000.0)
        with self.assertRaisesRegex(ValidationError, "later than"):
            self._promise(enrollment, days(4), days(12), 1000.0)
        with self.assertRaisesRegex(ValidationError, "less than"):
            self._promise(enrollment, days(4), days(8), 500.0)
        self.assertEqual((enrollment.pause_until, enrollment.promise_amount), (days(10), 1000.0))
        self._promise(enrollment, days(4), days(8), 1000.0)
        self.assertEqual(enrollment.pause_until, days(8), "an earlier date is a better promise")

    def test_promises_per_request_are_capped_and_a_broken_one_counts(self):
        enrollment = self._enrolled()
        self._run_engine(days(3))
        self._promise(enrollment, days(3), days(5), 1000.0)
        self._run_engine(days(6))
        self.assertEqual(enrollment.state, "running", "broken the day after its date")
        self._promise(enrollment, days(7), days(9), 1000.0)
        self._run_engine(days(10))
        with self.assertRaisesRegex(ValidationError, "at most 2 promises"):
            self._promise(enrollment, days(11), days(14), 1000.0)
        self.standard_process.promise_max_count = 3
        self._promise(enrollment, days(11), days(14), 1000.0)
        self.assertEqual(enrollment.pause_reason, "promise")

    def test_a_promise_covers_the_share_the_process_asks_for(self):
        enrollment = self._enrolled(amount=1000.0)
        with self.assertRaisesRegex(ValidationError, "at least"):
            self._promise(enrollment, days(3), days(10), 999.0)
        self.standard_process.promise_min_share = 50
        with self.assertRaisesRegex(ValidationError, "at least"):
            self._promise(enrollment, days(3), days(10), 499.0)
        self._promise(enrollment, days(3), days(10), 500.0)
        self.assertEqual(enrollment.promise_amount, 500.0)

    def test_a_promised_amount_that_is_not_a_finite_number_is_refused(self):
        enrollment = self._enrolled()
        for amount in (float("nan"), float("inf"), float("-inf")):
            with self.subTest(amount=amount), self.assertRaisesRegex(ValidationError, "more than zero"):
                self._promise(enrollment, days(3), days(10), amount)
        self.assertEqual(enrollment.state, "running")

    def test_the_tiny_later_promise_no_longer_stops_the_reminders_for_good(self):
        enrollment = self._enrolled()
        self._promise(enrollment, days(3), days(6), 1000.0)
        with self.assertRaises(ValidationError):
            self._promise(enrollment, days(5), days(19), 0.01)
        self._run_engine(days(7))
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(len(self._reminders(enrollment)), 1, "the reminder runs once the promise broke")
