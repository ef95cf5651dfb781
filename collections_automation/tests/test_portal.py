import re
from datetime import datetime, time, timedelta

from lxml import html

from odoo import fields
from odoo.tests import HttpCase, JsonRpcException, new_test_user, tagged

from .common import CollectionsCommon, days

CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


class PaymentRequestCommon(CollectionsCommon):
    """A customer with two invoices in a consolidating process, a portal
    user for them, another customer, and Odoo's demo payment provider; on a
    Thursday, 10 days after DAY_0, from noon UTC."""

    @classmethod
    def setUpClass(cls):
        cls._freeze_class_clock(datetime.combine(days(10), time(12)))
        super().setUpClass()
        company = cls.env.company
        cls.standard_process.write({"consolidate": True, "payment_page_title": "Settle your account"})
        cls.customer_user = new_test_user(
            cls.env,
            login="slow_payer_portal",
            password="slow_payer_portal",
            groups="base.group_portal",
            partner_id=cls.customer.id,
            company_id=company.id,
            company_ids=company.ids,
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Other Customer", "email": "ap@other.example.com"}
        )
        cls.other_user = new_test_user(
            cls.env,
            login="other_portal",
            password="other_portal",
            groups="base.group_portal",
            partner_id=cls.other_customer.id,
            company_id=company.id,
            company_ids=company.ids,
        )
        today = cls._company_today()
        cls.invoice = cls._create_invoice(amount=1000.0, due_date=today - timedelta(days=10))
        cls.second_invoice = cls._create_invoice(amount=250.0, due_date=today - timedelta(days=5))
        cls.other_invoice = cls._create_invoice(
            amount=400.0, due_date=today - timedelta(days=10), partner=cls.other_customer
        )
        cls.enrollment = cls.invoice.collection_enroll(process_id=cls.standard_process.id)
        cls.second_enrollment = cls.second_invoice.collection_enroll(process_id=cls.standard_process.id)
        cls.other_enrollment = cls.other_invoice.collection_enroll(process_id=cls.standard_process.id)
        cls.provider = cls._prepare_demo_provider(company)

    def _transaction_params(self, enrollment, amount, token=None, **values):
        """What Odoo's payment form posts to a transaction route."""
        return {
            "access_token": token if token is not None else enrollment.access_token,
            "provider_id": self.provider.id,
            "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
            "token_id": None,
            "amount": amount,
            "flow": "direct",
            "tokenization_requested": False,
            "landing_route": enrollment.access_url,
            "is_validation": False,
            **values,
        }

    @staticmethod
    def _form_defaults(enrollment, action):
        """What the page's form sends untouched: the dispute form ticks every
        request of the page open to a dispute."""
        if action != "dispute":
            return {}
        requests = enrollment._get_request_enrollments()._filter_open_to_customer("allow_dispute")
        return {"dispute_ids": [str(request_id) for request_id in requests.ids]}


@tagged("post_install", "-at_install")
class TestPaymentRequestPage(PaymentRequestCommon, HttpCase):
    """The customer's payment-request page: who may open it, and paying,
    promising and disputing from it."""

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def assertInPage(self, text, page, msg=None):
        """assertIn without printing the whole page when it fails."""
        if text not in page:
            self.fail(f"{text!r} not in the page{': ' + msg if msg else ''}")

    def assertNotInPage(self, text, page, msg=None):
        if text in page:
            self.fail(f"{text!r} unexpectedly in the page{': ' + msg if msg else ''}")

    def _page(self, enrollment, token=True, allow_redirects=True, **params):
        url = enrollment.get_portal_url() if token else enrollment.access_url
        return self.url_open(url, params=params or None, allow_redirects=allow_redirects)

    def _csrf(self, enrollment):
        response = self._page(enrollment)
        self.assertEqual(response.status_code, 200)
        return CSRF_PATTERN.search(response.text).group(1)

    def _post(self, enrollment, action, data, token=None):
        payload = {
            "csrf_token": self._csrf(self.enrollment),
            "access_token": token if token is not None else enrollment.access_token,
            **self._form_defaults(enrollment, action),
            **data,
        }
        return self.url_open(f"{enrollment.access_url}/{action}", data=payload, allow_redirects=False)

    def _transaction(self, enrollment, selection, amount, token=None, **values):
        return self.make_jsonrpc_request(
            f"{enrollment.access_url}/transaction/{selection}",
            params=self._transaction_params(enrollment, amount, token=token, **values),
        )

    def _complete(self, processing_values):
        transaction = self.env["payment.transaction"].search(
            [("reference", "=", processing_values["reference"])]
        )
        transaction._process(
            "demo", {"reference": transaction.reference, "simulated_state": "done", "payment_details": "4242"}
        )
        transaction._post_process()
        return transaction

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------

    def test_the_emailed_link_opens_the_page_without_logging_in(self):
        self.env["collection.engine"]._ensure_portal_tokens(self.enrollment)
        response = self._page(self.enrollment)
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertInPage("Settle your account", page)
        self.assertInPage(self.invoice.name, page)
        self.assertInPage(
            self.second_invoice.name, page, "a consolidated request covers every enrolled invoice"
        )
        self.assertNotInPage(self.other_invoice.name, page)
        self.assertInPage(self.env.company.name, page)
        [promise_amount] = html.fromstring(page).xpath("//input[@name='promise_amount']")
        self.assertEqual(promise_amount.get("value"), "1250.00", "the amount as money is written")
        self.assertInPage("1,250.00", page, "the total due")
        self.assertInPage("o_payment_form", page, "Odoo's payment form with the demo provider")
        pdf = self.url_open(self.invoice.get_portal_url(report_type="pdf", download=True))
        self.assertEqual(pdf.status_code, 200)
        self.assertEqual(pdf.headers["Content-Type"], "application/pdf")

    def test_the_email_carries_the_page_link(self):
        url = self.enrollment._get_payment_url()
        self.assertTrue(url.endswith(self.enrollment.get_portal_url()))
        self.assertIn(f"/my/collections/{self.enrollment.id}?access_token=", url)

    def test_no_token_a_wrong_token_or_another_customers_token_is_not_found(self):
        self.other_enrollment._portal_ensure_token()
        for params in ({}, {"access_token": "wrong"}, {"access_token": self.other_enrollment.access_token}):
            with self.subTest(params=params):
                response = self.url_open(self.enrollment.access_url, params=params)
                self.assertEqual(response.status_code, 404)
                self.assertNotInPage(self.invoice.name, response.text)
        self.assertEqual(self.url_open("/my/collections/999999999?access_token=x").status_code, 404)

    def test_a_portal_user_sees_the_requests_of_their_company_only(self):
        self.authenticate("slow_payer_portal", "slow_payer_portal")
        self.assertEqual(self._page(self.enrollment, token=False).status_code, 200)
        listing = self.url_open("/my/collections").text
        self.assertInPage(self.enrollment.name, listing)
        self.assertNotInPage(self.other_enrollment.name, listing)
        self.assertEqual(self._page(self.other_enrollment, token=False).status_code, 404)
        home = self.url_open("/my").text
        self.assertInPage("Payment requests", home)

    def test_foreign_tokens_change_nothing_on_any_route(self):
        self.other_enrollment._portal_ensure_token()
        foreign = self.other_enrollment.access_token
        promise_day = self._company_today() + timedelta(days=3)
        response = self._post(
            self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": 100}, token=foreign
        )
        self.assertEqual(response.status_code, 404)
        response = self._post(
            self.enrollment, "dispute", {"dispute_reason": "other", "dispute_message": "x"}, token=foreign
        )
        self.assertEqual(response.status_code, 404)
        with self.assertRaises(JsonRpcException):
            self._transaction(self.enrollment, "all", 1250.0, token=foreign)
        self.assertEqual(self.enrollment.state, "running")
        self.assertFalse(self.env["payment.transaction"].search([("invoice_ids", "in", self.invoice.ids)]))

    def test_paying_an_invoice_of_another_customer_through_a_request_is_refused(self):
        self._page(self.enrollment)
        with self.assertRaises(JsonRpcException):
            self._transaction(self.enrollment, str(self.other_enrollment.id), 400.0)
        self.assertFalse(
            self.env["payment.transaction"].search([("invoice_ids", "in", self.other_invoice.ids)])
        )

    def test_a_tampered_amount_is_refused(self):
        self._page(self.enrollment)
        with self.assertRaises(JsonRpcException):
            self._transaction(self.enrollment, "all", 1.0)
        self.assertFalse(self.env["payment.transaction"].search([("invoice_ids", "in", self.invoice.ids)]))

    # ------------------------------------------------------------------
    # Paying
    # ------------------------------------------------------------------

    def test_pay_everything_turns_the_request_paid_at_once(self):
        self._page(self.enrollment)
        processing = self._transaction(self.enrollment, "all", 1250.0)
        transaction = self._complete(processing)
        self.assertEqual(transaction.invoice_ids, self.invoice | self.second_invoice)
        self.assertEqual(transaction.amount, 1250.0)
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual((self.enrollment | self.second_enrollment).mapped("state"), ["paid", "paid"])
        status = self._page(self.enrollment)
        self.assertEqual(status.status_code, 200)
        self.assertInPage("Paid, thank you", status.text)

    def test_a_payment_made_on_the_page_is_told_by_odoobot_not_public_user(self):
        self._page(self.enrollment)
        processing = self._transaction(self.enrollment, "all", 1250.0)
        transaction = self.env["payment.transaction"].search([("reference", "=", processing["reference"])])
        # Odoo's payment pages process the payment as the public user.
        visitor = transaction.with_user(self.env.ref("base.public_user")).sudo()
        visitor._process(
            "demo", {"reference": transaction.reference, "simulated_state": "done", "payment_details": "4242"}
        )
        visitor._post_process()
        self.assertEqual(self.enrollment.state, "paid")
        paid = self.enrollment.message_ids.filtered(lambda m: "The invoice is paid." in str(m.body))
        self.assertEqual(paid.author_id, self.env.ref("base.partner_root"))

    def test_late_charges_show_on_the_page_and_are_paid_with_the_invoice(self):
        rule = self.env["collection.late.charge.rule"].create(
            {"name": "Terms of sale", "preset": "contractual", "compensation_type": "none", "auto_post": True}
        )
        self.standard_process.late_charge_rule_id = rule
        stage = self.standard_process.stage_ids[:1]
        stage.charge_late_fees = True
        self.env["collection.stage.action.late_charge"].run([(stage, self.enrollment)])
        charge = self.invoice.collection_charge_move_ids
        # 1,000 x 18% x 10 / 365, due with the invoice (11 days when the
        # company's midnight passed since the fixtures were made).
        overdue = (self._company_today() - self.invoice.invoice_date_due).days
        interest = round(1000 * 0.18 * overdue / 365, 2)
        self.assertIn(overdue, (10, 11))
        self.assertEqual((charge.state, charge.amount_total), ("posted", interest))
        self.assertEqual(
            (self.enrollment.amount_charged, self.enrollment.amount_residual), (interest, 1000 + interest)
        )
        page = self._page(self.enrollment).text
        self.assertInPage("Includes late charges of", page)
        self.assertInPage(charge.name, page)
        self.assertInPage("Interest accrued to date", page)
        processing = self._transaction(self.enrollment, "all", 1250 + interest)
        transaction = self._complete(processing)
        self.assertEqual(transaction.invoice_ids, self.invoice | self.second_invoice | charge)
        self.assertIn(charge.payment_state, ("paid", "in_payment"))
        self.assertEqual((self.enrollment | self.second_enrollment).mapped("state"), ["paid", "paid"])
        self.assertEqual(self.enrollment.amount_collected, 1000 + interest)

    def test_pay_only_the_ticked_invoice(self):
        page = self._page(self.enrollment, **{f"pay_{self.second_enrollment.id}": "1"})
        self.assertInPage(f"/transaction/{self.second_enrollment.id}", page.text)
        processing = self._transaction(self.enrollment, str(self.second_enrollment.id), 250.0)
        transaction = self._complete(processing)
        self.assertEqual(transaction.invoice_ids, self.second_invoice)
        self.assertEqual(self.second_enrollment.state, "paid")
        self.assertEqual(self.enrollment.state, "running")
        self.assertEqual(self.enrollment.amount_residual, 1000.0)

    def test_a_pending_payment_shows_as_pending(self):
        self._page(self.enrollment)
        processing = self._transaction(self.enrollment, "all", 1250.0)
        transaction = self.env["payment.transaction"].search([("reference", "=", processing["reference"])])
        transaction._process("demo", {"reference": transaction.reference, "simulated_state": "pending"})
        page = self._page(self.enrollment).text
        self.assertInPage("is being processed", page)
        self.assertEqual(self.enrollment.state, "running")

    def test_a_standalone_payment_request_is_paid_from_its_page(self):
        request = self.env["collection.enrollment"].create_payment_request(
            {
                "partner_id": self.other_customer.id,
                "amount": 80.0,
                "reference": "SUBSCRIPTION-42",
                "process_id": self.standard_process.copy({"consolidate": False}).id,
            }
        )
        request._portal_ensure_token()
        page = self._page(request).text
        self.assertInPage("SUBSCRIPTION-42", page)
        self.assertNotInPage(self.other_invoice.name, page, "a standalone request covers its own amount only")
        transaction = self._complete(self._transaction(request, "all", 80.0))
        self.assertEqual(transaction.collection_enrollment_id, request)
        self.assertEqual(request.state, "paid")
        self.assertEqual(request.amount_collected, 80.0)
        payment = transaction.payment_id
        self.assertEqual(
            (payment.partner_id, payment.amount, payment.state != "draft"), (self.other_customer, 80.0, True)
        )

    def test_standalone_requests_paid_together_are_each_credited(self):
        process = self.standard_process.copy({"consolidate": True})
        requests = self.env["collection.enrollment"].browse(
            self.env["collection.enrollment"]
            .create_payment_request(
                {
                    "partner_id": self.other_customer.id,
                    "amount": amount,
                    "reference": reference,
                    "process_id": process.id,
                }
            )
            .id
            for amount, reference in ((80.0, "SUB-1"), (120.0, "SUB-2"))
        )
        for request in requests:
            request._portal_ensure_token()
        self.assertEqual(requests[0]._get_request_enrollments(), self.other_enrollment | requests)
        selection = "-".join(str(request_id) for request_id in sorted(requests.ids))
        transaction = self._complete(self._transaction(requests[0], selection, 200.0))
        self.assertEqual(transaction.collection_enrollment_ids, requests)
        self.assertEqual(requests.mapped("state"), ["paid", "paid"])
        self.assertEqual(requests.mapped("amount_collected"), [80.0, 120.0])
        self.assertEqual(self.other_enrollment.state, "running", "the unticked invoice is still due")

    def test_an_invoice_and_a_request_paid_together_are_each_credited(self):
        request = self.env["collection.enrollment"].create_payment_request(
            {"partner_id": self.customer.id, "amount": 50.0, "process_id": self.standard_process.id}
        )
        self.enrollment._portal_ensure_token()
        selection = "-".join(str(i) for i in sorted((self.second_enrollment | request).ids))
        transaction = self._complete(self._transaction(self.enrollment, selection, 300.0))
        self.assertEqual(self.second_enrollment.state, "paid")
        self.assertEqual((request.state, request.amount_collected), ("paid", 50.0))
        self.assertEqual(transaction.collection_enrollment_ids, self.second_enrollment | request)

    def test_the_customer_saves_the_payment_method_for_later(self):
        self._page(self.enrollment)
        processing = self._transaction(self.enrollment, "all", 1250.0, tokenization_requested=True)
        transaction = self._complete(processing)
        self.assertTrue(transaction.token_id, "the card is saved")
        self.assertEqual(transaction.token_id.partner_id, self.customer)
        self.assertEqual(
            self.env["collection.stage.action.payment_retry"]._get_token(self.enrollment),
            transaction.token_id,
            "later retries charge it",
        )

    def test_the_customer_saves_a_new_payment_method_without_paying(self):
        page = self.url_open(self.enrollment.get_portal_url(suffix="/payment-method"))
        url = f"{self.enrollment.access_url}/payment-method"
        self.assertEqual(page.status_code, 200)
        self.assertInPage("o_payment_form", page.text, "Odoo's payment form, in validation mode")
        self.assertInPage("/payment-method/transaction", page.text)
        self.assertEqual(self.url_open(url, params={"access_token": "wrong"}).status_code, 404)
        processing = self.make_jsonrpc_request(
            f"{url}/transaction", params=self._transaction_params(self.enrollment, None, is_validation=True)
        )
        transaction = self._complete(processing)
        self.assertEqual(transaction.operation, "validation")
        self.assertTrue(transaction.token_id, "the card is saved")
        self.assertEqual(transaction.token_id.partner_id, self.customer)
        self.assertEqual(
            self.env["collection.stage.action.payment_retry"]._get_token(self.enrollment),
            transaction.token_id,
            "the next retry charges it",
        )
        self.assertEqual((self.enrollment.state, self.enrollment.amount_residual), ("running", 1000.0))
        self.assertFalse(
            self.enrollment.event_ids.filtered(lambda e: e.action in ("paid", "partial_payment"))
        )
        audit = self.env["collection.portal.audit"].search([("action", "=", "save_payment_method")])
        self.assertEqual((audit.outcome, audit.message), ("done", transaction.reference))

    def test_saving_a_payment_method_with_a_saved_token_or_on_a_closed_request_is_refused(self):
        token = self._demo_card()
        self.enrollment._portal_ensure_token()
        url = f"{self.enrollment.access_url}/payment-method/transaction"
        params = self._transaction_params(
            self.enrollment, None, payment_method_id=None, token_id=token.id, flow="token", is_validation=True
        )
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(url, params=params)
        self.assertFalse(self.env["payment.transaction"].search([("token_id", "=", token.id)]))
        self.enrollment.action_cancel()
        page = self.url_open(self.enrollment.get_portal_url(suffix="/payment-method"), allow_redirects=False)
        self.assertEqual(page.status_code, 303, "a closed request sends back to its status page")

    # ------------------------------------------------------------------
    # Promise to pay
    # ------------------------------------------------------------------

    def test_promise_to_pay_pauses_until_the_date(self):
        promise_day = self._company_today() + timedelta(days=5)
        response = self._post(
            self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": "1250"}
        )
        self.assertEqual(response.status_code, 303)
        self.assertIn("message=promised", response.headers["Location"])
        for enrollment in self.enrollment | self.second_enrollment:
            self.assertEqual((enrollment.state, enrollment.pause_reason), ("paused", "promise"))
            self.assertEqual(enrollment.pause_until, promise_day)
        self.assertEqual(self.enrollment.promise_amount + self.second_enrollment.promise_amount, 1250.0)
        self.assertTrue(self.enrollment.event_ids.filtered(lambda e: e.action == "promise"))
        page = self.url_open(response.headers["Location"]).text
        self.assertInPage("we noted your promise", page)
        confirmation = self.enrollment.message_ids.filtered(lambda m: "promise to pay" in (m.subject or ""))
        self.assertEqual(len(confirmation), 1, "one confirmation for the whole request")
        self.assertIn(self.customer, confirmation.partner_ids)
        self.assertIn("1,250.00", str(confirmation.body))

    def test_the_page_remembers_a_promise_and_a_dispute(self):
        promise_day = self._company_today() + timedelta(days=5)
        self._post(self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": "1250"})
        page = self._page(self.enrollment).text
        self.assertInPage("You promised to pay", page)
        self.assertInPage("1,250.00", page)
        self.assertInPage("Improve your promise", page)
        [promise_date] = html.fromstring(page).xpath("//input[@name='promise_date']")
        self.assertEqual(promise_date.get("value"), str(promise_day), "the form shows the promise made")
        self.assertInPage('name="dispute_reason"', page, "a promised request can still be disputed")
        self._post(
            self.enrollment, "dispute", {"dispute_reason": "wrong_amount", "dispute_message": "Billed twice"}
        )
        page = self._page(self.enrollment).text
        self.assertInPage("Our team is looking into your message", page)
        self.assertInPage(self.invoice.name, page)
        self.assertNotInPage('name="dispute_reason"', page, "no second dispute form")
        self.assertNotInPage('name="promise_date"', page)

    def test_a_dispute_under_review_leaves_the_forms_and_their_actions(self):
        self.second_enrollment.action_dispute("wrong_amount", "Billed twice")
        page = html.fromstring(self._page(self.enrollment).text)
        [amount] = page.xpath(
            "//form[contains(@class, 'o_collection_promise_form')]//input[@name='promise_amount']"
        )
        self.assertEqual(
            amount.get("value"), f"{self.enrollment.amount_residual:.2f}", "the undisputed invoice"
        )
        promise_day = self._company_today() + timedelta(days=5)
        response = self._post(
            self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": amount.get("value")}
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.enrollment.pause_reason, "promise")
        self.assertEqual(self.second_enrollment.pause_reason, "dispute", "the dispute stays with the team")
        # Taken while the page still has a form: once all is disputed, it has none.
        csrf = self._csrf(self.enrollment)
        self._post(self.enrollment, "dispute", {"dispute_reason": "other", "dispute_message": "And this one"})
        self.assertEqual(self.enrollment.pause_reason, "dispute")
        first = self.second_enrollment.message_ids.filtered(lambda m: "Billed twice" in str(m.body))
        self.assertEqual(len(first), 1)
        self.assertFalse(self.second_enrollment.message_ids.filtered(lambda m: "And this one" in str(m.body)))
        again = {"csrf_token": csrf, "access_token": self.enrollment.access_token}
        again.update(dispute_reason="other", dispute_message="Again")
        response = self.url_open(f"{self.enrollment.access_url}/dispute", data=again, allow_redirects=False)
        self.assertEqual(response.status_code, 400)
        self.assertInPage("Our team is looking into your message about these invoices", response.text)

    def test_a_promise_out_of_the_process_limits_is_refused_and_changes_nothing(self):
        too_late = self._company_today() + timedelta(days=self.standard_process.promise_max_days + 1)
        for data in (
            {"promise_date": too_late, "promise_amount": "100"},
            {"promise_date": self._company_today(), "promise_amount": "100"},
            {"promise_date": self._company_today() + timedelta(days=2), "promise_amount": "5000"},
            {"promise_date": "not a date", "promise_amount": "100"},
        ):
            with self.subTest(data=data):
                response = self._post(self.enrollment, "promise", data)
                self.assertEqual(response.status_code, 400)
                self.assertInPage("o_collection_error", response.text)
                self.assertEqual(self.enrollment.state, "running")

    def test_a_kept_promise_is_logged_when_the_invoice_is_paid(self):
        promise_day = self._company_today() + timedelta(days=5)
        self._post(self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": "1250"})
        self._pay(self.invoice, day=self._company_today())
        self.assertEqual(self.enrollment.state, "paid")
        kept = self.enrollment.event_ids.filtered(lambda e: e.action == "promise_kept")
        self.assertEqual(len(kept), 1)

    def test_a_broken_promise_moves_on_to_the_next_stage(self):
        promise_day = self._company_today() + timedelta(days=5)
        self._post(self.enrollment, "promise", {"promise_date": promise_day, "promise_amount": "1250"})
        self._run_engine(promise_day)
        self.assertEqual(self.enrollment.state, "paused", "kept until the end of the promised day")
        self._run_engine(promise_day + timedelta(days=1))
        broken = self.enrollment.event_ids.filtered(lambda e: e.action == "promise_broken")
        self.assertEqual(len(broken), 1)
        self.assertEqual(self.enrollment.state, "running")
        self.assertTrue(self.enrollment.stage_id, "the stage due during the promise ran when it broke")

    # ------------------------------------------------------------------
    # Dispute
    # ------------------------------------------------------------------

    def test_a_dispute_pauses_and_reaches_the_responsible(self):
        response = self._post(
            self.enrollment,
            "dispute",
            {"dispute_reason": "wrong_amount", "dispute_message": "We were billed <b>twice</b> for March."},
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual((self.enrollment.state, self.enrollment.pause_reason), ("paused", "dispute"))
        self.assertEqual(self.enrollment.dispute_reason, "wrong_amount")
        message = self.enrollment.message_ids.filtered(lambda m: "billed" in str(m.body))
        self.assertEqual(message.author_id, self.customer)
        self.assertIn("&lt;b&gt;twice&lt;/b&gt;", str(message.body), "the customer's text is escaped")
        activity = self.enrollment.activity_ids
        self.assertEqual(activity.user_id, self.collections_manager)
        self.assertIn("Dispute", activity.summary)
        self.assertTrue(self.enrollment.event_ids.filtered(lambda e: e.action == "dispute"))
        received = self.enrollment.message_ids.filtered(
            lambda m: "We received your message" in (m.subject or "")
        )
        self.assertEqual(len(received), 1)
        self.assertIn(self.invoice.name, str(received.body))
        self.assertIn(self.second_invoice.name, str(received.body))

    def test_one_invoice_of_the_page_can_be_disputed(self):
        page = html.fromstring(self._page(self.enrollment).text)
        ticks = page.xpath(
            "//form[contains(@class, 'o_collection_dispute_form')]//input[@name='dispute_ids']"
        )
        self.assertEqual(
            sorted(int(tick.get("value")) for tick in ticks),
            sorted((self.enrollment | self.second_enrollment).ids),
            "a box per invoice, ticked",
        )
        self.assertTrue(all(tick.get("checked") for tick in ticks))
        response = self._post(
            self.enrollment,
            "dispute",
            {
                "dispute_ids": [str(self.second_enrollment.id)],
                "dispute_reason": "quality",
                "dispute_message": "The second delivery was damaged.",
            },
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            (self.second_enrollment.state, self.second_enrollment.dispute_reason), ("paused", "quality")
        )
        self.assertEqual((self.enrollment.state, self.enrollment.dispute_reason), ("running", False))
        [activity] = self.second_enrollment.activity_ids
        self.assertIn(self.second_invoice.name, str(activity.note))
        self.assertNotIn(self.invoice.name, str(activity.note))
        page = self._page(self.enrollment).text
        self.assertInPage('name="promise_date"', page, "the undisputed invoice can still be promised")
        self.assertNotInPage('name="dispute_ids"', page, "one invoice left to dispute: nothing to tick")

    def test_a_dispute_choosing_nothing_or_another_request_is_refused(self):
        for chosen in ([], [str(self.other_enrollment.id)], ["abc"]):
            with self.subTest(chosen=chosen):
                response = self._post(
                    self.enrollment,
                    "dispute",
                    {
                        "dispute_ids": chosen,
                        "dispute_reason": "other",
                        "dispute_message": "Something",
                    },
                )
                self.assertEqual(response.status_code, 400)
                self.assertInPage("o_collection_error", response.text)
                requests = self.enrollment | self.second_enrollment | self.other_enrollment
                self.assertEqual(requests.mapped("state"), ["running"] * 3)

    def test_a_dispute_without_reason_or_message_is_refused(self):
        for data in (
            {"dispute_reason": "", "dispute_message": "x"},
            {"dispute_reason": "other", "dispute_message": " "},
        ):
            with self.subTest(data=data):
                response = self._post(self.enrollment, "dispute", data)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(self.enrollment.state, "running")

    def test_an_escalated_request_can_still_be_paid_promised_and_disputed(self):
        self.env["collection.engine"]._ensure_portal_tokens(self.other_enrollment)
        self._escalate_at_ladder_end(self.other_enrollment)
        response = self._page(self.other_enrollment)
        self.assertEqual(response.status_code, 200)
        self.assertInPage("passed on to our team", response.text)
        self.assertInPage("/transaction/", response.text, "the payment form is there")
        self.assertInPage('name="promise_date"', response.text)
        promise_date = fields.Date.to_string(self._company_today() + timedelta(days=5))
        response = self._post(
            self.other_enrollment, "promise", {"promise_date": promise_date, "promise_amount": "400"}
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(
            (self.other_enrollment.state, self.other_enrollment.pause_reason), ("escalated", "promise")
        )
        transaction = self._complete(self._transaction(self.other_enrollment, "all", 400.0))
        self.assertEqual(transaction.invoice_ids, self.other_invoice)
        self.assertEqual(self.other_enrollment.state, "paid")
        self.assertIn("promise_kept", self.other_enrollment.event_ids.mapped("action"))

    def test_the_link_of_a_replaced_request_leads_to_the_new_one(self):
        self.env["collection.engine"]._ensure_portal_tokens(self.other_enrollment)
        self._escalate_at_ladder_end(self.other_enrollment)
        self.other_invoice.collection_enroll(process_id=self.standard_process.id, reenroll=True)
        new = self.other_invoice.collection_enrollment_ids - self.other_enrollment
        response = self._page(self.other_enrollment, allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn(
            f"/my/collections/{new.id}?access_token={new.access_token}", response.headers["Location"]
        )

    def test_closed_requests_show_their_status(self):
        self.env["collection.engine"]._ensure_portal_tokens(self.other_enrollment)
        self.other_enrollment.state = "cancelled"
        self.assertInPage("This request is closed", self._page(self.other_enrollment).text)
        csrf = self._csrf(self.enrollment)
        response = self.url_open(
            f"{self.other_enrollment.access_url}/dispute",
            data={
                "csrf_token": csrf,
                "access_token": self.other_enrollment.access_token,
                "dispute_reason": "other",
                "dispute_message": "late",
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, "a closed request sends back to its status page")
        self.assertEqual(self.other_enrollment.state, "cancelled")


@tagged("post_install", "-at_install")
class TestPaymentRequestAccessRules(CollectionsCommon):
    def test_portal_users_read_their_customers_requests_only(self):
        portal = new_test_user(
            self.env, login="rules_portal", groups="base.group_portal", partner_id=self.customer.id
        )
        mine = self._create_invoice().collection_enroll(process_id=self.standard_process.id)
        other_partner = self.env["res.partner"].create({"name": "Someone else"})
        theirs = self._create_invoice(partner=other_partner).collection_enroll(
            process_id=self.standard_process.id
        )
        visible = self.env["collection.enrollment"].with_user(portal).search([])
        self.assertEqual(visible, mine)
        self.assertFalse(theirs & visible)
        self.assertFalse(self.env["collection.event"].with_user(portal).has_access("read"))
        self.assertFalse(self.env["collection.enrollment"].with_user(portal).has_access("write"))
