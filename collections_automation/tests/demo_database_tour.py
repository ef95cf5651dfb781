"""The demo's whole path, in Chromium, on the database ``make run`` builds.

It needs the demo data, so it is not a test of the suite's own database:
pytest does not collect this file (its name does not start with test_),
and ``tests/test_install_uninstall.py`` runs it with Odoo's test runner
(``--test-tags collections_demo_database``) on a demo database built as
``make run`` builds it.
"""

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

from odoo.tests import tagged

from .common import ChromiumCase

PAYMENT_LINK = re.compile(r'href="([^"]*/my/collections/\d+\?[^"]*)"')


@tagged("post_install", "-at_install", "-standard", "collections_demo_database")
class TestDemoDatabaseTour(ChromiumCase):
    def _emailed_link_of_a_running_collection(self):
        """The path of the payment link in the latest reminder email the
        demo engine queued for a collection that is still running."""
        mails = self.env["mail.mail"].search(
            [("model", "=", "collection.enrollment"), ("body_html", "like", "/my/collections/")],
            order="id desc",
        )
        for mail in mails:
            enrollment = self.env["collection.enrollment"].browse(mail.res_id)
            match = PAYMENT_LINK.search(mail.body_html)
            if enrollment.state == "running" and match:
                link = urlsplit(html.unescape(match.group(1)))
                return enrollment, f"{link.path}?{link.query}"
        raise AssertionError("the demo database has no reminder email of a running collection")

    def test_a_customer_pays_the_emailed_reminder_with_the_demo_provider(self):
        enrollment, link = self._emailed_link_of_a_running_collection()
        invoice = enrollment.move_id
        amount_due = invoice.amount_residual
        # The KPIs count a payment on its accounting date, which Odoo gives an
        # online payment on UTC's calendar, not the company's: around
        # midnight the two differ by a day, at new year by a month.
        today = enrollment._company_today()
        period = ((today - timedelta(days=1)).replace(day=1), today + timedelta(days=1))
        kpis = self.env["collection.kpi"]._get_kpis(enrollment.company_id, *period)

        self.start_tour(link, "collections_demo_pay_tour")

        self.assertEqual(enrollment.state, "paid")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(enrollment.amount_residual, 0.0)
        self.assertEqual(enrollment.amount_collected, enrollment.amount_due_at_enrollment)
        kpis_after = self.env["collection.kpi"]._get_kpis(enrollment.company_id, *period)
        self.assertGreaterEqual(
            kpis_after["cash_collected"] - kpis["cash_collected"],
            amount_due,
            "the payment counts as cash collected",
        )
