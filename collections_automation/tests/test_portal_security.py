from datetime import timedelta

from odoo.tests import HttpCase, JsonRpcException, tagged

from ..controllers.portal import CollectionsPortal
from ..models.collection_portal_audit import FORM_POSTS_PER_HOUR
from .test_portal import CSRF_PATTERN, PaymentRequestCommon

NOT_AMOUNTS = ("nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e400", "abc", "", "0", "-5")


@tagged("post_install", "-at_install")
class TestPaymentPageAgainstAbuse(PaymentRequestCommon, HttpCase):
    """An outside visitor who holds a payment link, or guesses at the routes
    around it: every refusal has its status (never 500), changes nothing,
    and leaves an audit line."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for enrollment in cls.enrollment | cls.second_enrollment:
            enrollment._portal_ensure_token()

    def _csrf(self):
        response = self.url_open(self.enrollment.get_portal_url())
        self.assertEqual(response.status_code, 200)
        return CSRF_PATTERN.search(response.text).group(1)

    def _post(self, action, data, enrollment=None, csrf=None):
        enrollment = enrollment or self.enrollment
        payload = {
            "csrf_token": csrf or self._csrf(),
            "access_token": enrollment.access_token,
            **self._form_defaults(enrollment, action),
            **data,
        }
        return self.url_open(f"{enrollment.access_url}/{action}", data=payload, allow_redirects=False)

    def _promise(self, amount="1250", day=3, **kwargs):
        promise_date = day if isinstance(day, str) else self._company_today() + timedelta(days=day)
        return self._post("promise", {"promise_date": promise_date, "promise_amount": amount}, **kwargs)

    def _pay(self, amount=1250.0, selection="all", **values):
        return self.make_jsonrpc_request(
            f"{self.enrollment.access_url}/transaction/{selection}",
            params=self._transaction_params(self.enrollment, amount, **values),
        )

    def _refused_pay(self, **values):
        """The pay call, which must fail. Not in Odoo's assertRaises: its
        savepoint would also undo what the server wrote after rolling its
        own transaction back (the audit line)."""
        try:
            self._pay(**values)
        except JsonRpcException as error:
            return error
        return self.fail("the payment was accepted")

    def _audits(self, action=None):
        domain = [("enrollment_id", "in", (self.enrollment | self.second_enrollment).ids)]
        if action:
            domain.append(("action", "=", action))
        return self.env["collection.portal.audit"].search(domain, order="id")

    def _forget_form_posts(self):
        """Age the audit lines by two hours: the next posts are not limited."""
        self.env.cr.execute(
            "UPDATE collection_portal_audit SET create_date = create_date - interval '2 hours'"
        )

    def _transactions(self):
        return self.env["payment.transaction"].search([("invoice_ids", "in", self.invoice.ids)])

    def assertUnchanged(self):
        self.env.invalidate_all()
        for enrollment in self.enrollment | self.second_enrollment:
            self.assertEqual((enrollment.state, enrollment.pause_reason), ("running", False))
        self.assertFalse(
            (self.enrollment | self.second_enrollment).event_ids.filtered(
                lambda event: event.action in ("promise", "dispute", "paused")
            )
        )

    # ------------------------------------------------------------------
    # Promise form
    # ------------------------------------------------------------------

    def test_a_promised_amount_that_is_not_an_amount_is_refused_with_400(self):
        csrf = self._csrf()
        for amount in NOT_AMOUNTS:
            self._forget_form_posts()
            with self.subTest(amount=amount):
                response = self._promise(amount, csrf=csrf)
                self.assertEqual(response.status_code, 400)
                self.assertIn("o_collection_error", response.text)
        self.assertUnchanged()

    def test_promise_dates_in_the_past_too_far_or_malformed_are_refused_with_400(self):
        csrf = self._csrf()
        for day in (-1, 0, self.standard_process.promise_max_days + 1, 100000, "2026-02-30", "tomorrow", ""):
            self._forget_form_posts()
            with self.subTest(day=day):
                self.assertEqual(self._promise(day=day, csrf=csrf).status_code, 400)
        self.assertUnchanged()

    def test_a_second_promise_cannot_be_later_or_smaller(self):
        self.assertEqual(self._promise(day=3).status_code, 303)
        first_date = self.enrollment.pause_until
        for amount, day in (("0.01", 10), ("1250", 10), ("0.01", 3)):
            with self.subTest(amount=amount, day=day):
                self.assertEqual(self._promise(amount, day=day).status_code, 400)
        self.env.invalidate_all()
        self.assertEqual(self.enrollment.pause_until, first_date)
        self.assertEqual(self.enrollment.promise_amount + self.second_enrollment.promise_amount, 1250.0)

    # ------------------------------------------------------------------
    # Dispute form
    # ------------------------------------------------------------------

    def test_an_unknown_dispute_reason_or_an_oversized_message_is_refused_with_400(self):
        csrf = self._csrf()
        for data in (
            {"dispute_reason": "<script>", "dispute_message": "x"},
            {"dispute_reason": "other", "dispute_message": "x" * 100000},
            {"dispute_reason": "other", "dispute_message": "   "},
        ):
            with self.subTest(reason=data["dispute_reason"]):
                self.assertEqual(self._post("dispute", data, csrf=csrf).status_code, 400)
        self.assertUnchanged()

    def test_a_consolidated_page_follows_each_requests_own_process(self):
        no_online = self.standard_process.copy(
            {"name": "No online promise or dispute", "allow_promise": False, "allow_dispute": False}
        )
        third_invoice = self._create_invoice(amount=300.0, due_date=self._company_today() - timedelta(days=2))
        third = third_invoice.collection_enroll(process_id=no_online.id)
        page = self.url_open(self.enrollment.get_portal_url()).text
        self.assertIn("o_collection_dispute_not_for", page)
        self.assertIn("o_collection_promise_not_for", page)
        response = self._post("dispute", {"dispute_reason": "other", "dispute_message": "Damaged goods"})
        self.assertEqual(response.status_code, 303)
        self.env.invalidate_all()
        self.assertEqual(
            (self.enrollment.pause_reason, self.second_enrollment.pause_reason), ("dispute", "dispute")
        )
        self.assertEqual(
            (third.state, third.pause_reason), ("running", False), "its process takes no dispute"
        )

    def test_a_request_whose_process_forbids_it_refuses_even_as_the_earliest_due(self):
        no_online = self.standard_process.copy({"name": "No online dispute", "allow_dispute": False})
        earliest = self._create_invoice(amount=300.0, due_date=self._company_today() - timedelta(days=30))
        forbidding = earliest.collection_enroll(process_id=no_online.id)
        response = self._post("dispute", {"dispute_reason": "other", "dispute_message": "Damaged goods"})
        self.assertEqual(response.status_code, 303, "the requests that take disputes are disputed")
        self.env.invalidate_all()
        self.assertEqual(forbidding.pause_reason, False)
        self.assertEqual(self.enrollment.pause_reason, "dispute")

    # ------------------------------------------------------------------
    # Flooding and the audit
    # ------------------------------------------------------------------

    def test_form_posts_past_the_hourly_limit_get_429_and_change_nothing(self):
        csrf = self._csrf()
        for _attempt in range(FORM_POSTS_PER_HOUR):
            self.assertEqual(self._promise("abc", csrf=csrf).status_code, 400)
        response = self._promise(csrf=csrf)
        self.assertEqual(response.status_code, 429)
        self.assertIn("too many times", response.text)
        self.assertUnchanged()
        self.assertEqual(
            self._audits("promise").mapped("outcome"), ["refused"] * FORM_POSTS_PER_HOUR + ["limited"]
        )
        self.assertEqual(
            self._post("dispute", {"dispute_reason": "other", "dispute_message": "x"}, csrf=csrf).status_code,
            303,
            "the limit is per action: the dispute form still answers",
        )

    def test_the_limit_counts_the_last_hour_only(self):
        csrf = self._csrf()
        for _attempt in range(FORM_POSTS_PER_HOUR):
            self._promise("abc", csrf=csrf)
        self.env.cr.execute(
            "UPDATE collection_portal_audit SET create_date = create_date - interval '61 minutes'"
        )
        self.env.invalidate_all()
        self.assertEqual(self._promise(csrf=csrf).status_code, 303)

    def test_each_portal_action_leaves_an_audit_line(self):
        self._promise(day=3)
        self._pay()
        promise, pay = self._audits("promise"), self._audits("pay")
        self.assertEqual((promise.outcome, pay.outcome), ("done", "done"))
        self.assertEqual(promise.enrollment_id, self.enrollment)
        self.assertEqual(promise.ip_address, "127.0.0.1")
        self.assertTrue(promise.user_agent)
        self.assertFalse(promise.user_id, "an anonymous visitor with the link")
        self.assertEqual(pay.message, self._transactions().reference)
        self.assertEqual(promise.company_id, self.env.company)

    # ------------------------------------------------------------------
    # Paying
    # ------------------------------------------------------------------

    def test_a_validation_transaction_from_the_browser_is_refused(self):
        self._refused_pay(is_validation=True)
        self.assertFalse(self._transactions())
        self.assertEqual(self._audits("pay").outcome, "refused", "audited although the call rolled back")

    def test_amounts_that_are_not_amounts_are_refused(self):
        for amount in ("abc", 1e308, -1e308, "nan", None, [1]):
            with self.subTest(amount=amount):
                self._refused_pay(amount=amount)
        self.assertFalse(self._transactions())

    def test_a_second_payment_while_one_is_being_processed_is_refused(self):
        token = self._demo_card("pending")
        values = {"flow": "token", "token_id": token.id, "payment_method_id": None}
        self._pay(**values)
        self.assertEqual(self._transactions().state, "pending")
        self._refused_pay(**values)
        self.assertEqual(len(self._transactions()), 1, "the saved card is charged once")
        self.assertIn("already being processed", self._audits("pay")[-1].message)
        self._refused_pay(amount=250.0, selection=str(self.second_enrollment.id), **values)
        self.assertEqual(len(self._transactions()), 1, "nor through a part of the same request")
        self.assertEqual(self._audits("pay").mapped("outcome"), ["done", "refused", "refused"])

    def test_a_payment_done_but_not_yet_accounted_blocks_a_second_one(self):
        self._pay()
        transaction = self._transactions()
        transaction._set_done()
        self.assertFalse(transaction.is_post_processed)
        self._refused_pay()
        self.assertEqual(len(self._transactions()), 1)

    # ------------------------------------------------------------------
    # Links and the bank transfer fallback
    # ------------------------------------------------------------------

    def test_the_page_link_encodes_its_query(self):
        url = CollectionsPortal()._get_collection_page_url(
            self.enrollment, access_token="a&b=c d", message="promised"
        )
        self.assertEqual(url, f"{self.enrollment.access_url}?message=promised&access_token=a%26b%3Dc+d")

    def test_without_online_payment_the_page_shows_the_bank_account_and_reference(self):
        self.provider.state = "disabled"
        self.env["res.partner.bank"].create(
            {"acc_number": "BE71 0961 2345 6769", "partner_id": self.env.company.partner_id.id}
        )
        page = self.url_open(self.enrollment.get_portal_url()).text
        self.assertIn("o_collection_bank_transfer", page)
        self.assertIn("BE71 0961 2345 6769", page)
        self.assertIn(self.invoice.payment_reference, page)
        self.assertIn(self.second_invoice.payment_reference, page)
