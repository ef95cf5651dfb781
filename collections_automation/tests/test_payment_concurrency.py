"""Two payments of one request at the same moment, on committed data with
real transactions: the second never charges without seeing the first."""

from contextlib import closing, contextmanager

from psycopg2.errors import SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name


@tagged("post_install", "-at_install")
class TestPaymentConcurrency(BaseCase):
    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        self.attempts = 0
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create({"name": "Double Clicker", "email": "ap@double.example.com"})
            process = env["collection.process"].create(
                {
                    "name": "Double click check",
                    "stage_ids": [Command.create({"name": "Reminder", "delay_days": 3})],
                }
            )
            request = env["collection.enrollment"].create_payment_request(
                {"partner_id": partner.id, "amount": 120.0, "reference": "DOUBLE-1", "process_id": process.id}
            )
            self.partner_id, self.process_id, self.request_id = partner.id, process.id, request.id
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["payment.transaction"].search([("collection_enrollment_id", "=", self.request_id)]).unlink()
            request = env["collection.enrollment"].browse(self.request_id)
            env["mail.message"].search(
                [("model", "=", "collection.enrollment"), ("res_id", "=", request.id)]
            ).unlink()
            request.unlink()
            env["collection.process"].browse(self.process_id).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def _visitor(self):
        cr = self.registry.cursor()
        return cr, api.Environment(cr, SUPERUSER_ID, {})["collection.enrollment"].browse(self.request_id)

    def _pay(self, request):
        """What the pay route does once the request is checked: take it for
        a payment, then create the provider's transaction (pending)."""
        request._start_online_payment()
        self.attempts += 1
        return request.env["payment.transaction"].create(
            {
                "reference": f"DOUBLE-{self.request_id}-{self.attempts}",
                "provider_id": request.env.ref("payment.payment_provider_demo").id,
                "payment_method_id": request.env.ref("payment.payment_method_unknown").id,
                "operation": "online_direct",
                "amount": request.amount_residual,
                "currency_id": request.currency_id.id,
                "partner_id": request.partner_id.id,
                "collection_enrollment_id": request.id,
                "state": "pending",
            }
        )

    def _transaction_count(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return env["payment.transaction"].search_count(
                [("collection_enrollment_id", "=", self.request_id)]
            )

    def test_a_second_payment_while_the_first_is_being_made_is_refused(self):
        cr_one, request_one = self._visitor()
        cr_two, request_two = self._visitor()
        with closing(cr_one), closing(cr_two):
            self._pay(request_one)
            with self.assertRaises(ValidationError):
                self._pay(request_two)
            cr_two.rollback()
            cr_one.commit()
        self.assertEqual(self._transaction_count(), 1)

    @contextmanager
    def _second_payment_after_the_first_committed(self):
        """Yield the second visitor's request, whose transaction read the
        page's data before the first payment committed: its snapshot does
        not show the first payment's transaction."""
        cr_one, request_one = self._visitor()
        cr_two, request_two = self._visitor()
        with closing(cr_one), closing(cr_two):
            self.assertEqual(request_two.amount_residual, 120.0)
            self._pay(request_one)
            cr_one.commit()
            yield request_two
            cr_two.rollback()
        self.assertEqual(self._transaction_count(), 1)

    def test_a_second_payment_that_started_before_the_first_committed_cannot_charge(self):
        with (
            self._second_payment_after_the_first_committed() as request_two,
            self.assertRaises(SerializationFailure),
        ):
            self._pay(request_two)

    def test_the_retried_request_sees_the_first_payment_and_refuses(self):
        with self._second_payment_after_the_first_committed() as request_two:
            # Odoo retries a request that met a concurrent update, with
            # fresh data: then the first payment shows.
            with self.assertRaises(ValidationError) as refused:
                retrying(lambda: self._pay(request_two), request_two.env)
            self.assertIn("already being processed", str(refused.exception))
