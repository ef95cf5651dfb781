from odoo.tests import HttpCase, tagged

from .common import CollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectionsRpc(CollectionsCommon, HttpCase):
    """The API the manual documents (readme/USAGE.md), called over XML-RPC as a collections user."""

    def _call(self, model, method, *args):
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "collections_user", "collections_user", {})
        return self.xmlrpc_object.execute_kw(db, uid, "collections_user", model, method, list(args))

    def test_enroll_and_request_payment_over_rpc(self):
        invoice = self._create_invoice(amount=640)
        self.env.company.collection_default_process_id = self.standard_process
        enrollment_ids = self._call("account.move", "collection_enroll", [invoice.id])
        enrollment = self.env["collection.enrollment"].browse(enrollment_ids)
        self.assertEqual(enrollment.move_id, invoice)
        self.assertEqual(enrollment.process_id, self.standard_process)
        request_id = self._call(
            "collection.enrollment",
            "create_payment_request",
            {"partner_id": self.customer.id, "amount": 250.0, "reference": "SUB-2026-03"},
        )
        request = self.env["collection.enrollment"].browse(request_id)
        self.assertEqual(
            (request.amount_residual, request.reference, request.state), (250.0, "SUB-2026-03", "running")
        )
