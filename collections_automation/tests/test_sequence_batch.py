from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.collection_enrollment import SEQUENCE_CODE
from .common import DAY_0, CollectionsCommon


@tagged("post_install", "-at_install")
class TestSequenceBatch(CollectionsCommon):
    """The door to Odoo's sequence internals (models/sequence_batch.py) draws
    for a batch the numbers ``next_by_id`` draws one by one. When an Odoo
    update changes how a sequence counts or formats, these tests fail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Batch = cls.env["collection.sequence.batch"]

    def setUp(self):
        super().setUp()
        # The prefixes hold the year and month: every draw on one clock.
        self.enterContext(self._at(DAY_0))

    def _sequence(self, implementation, **values):
        return self.env["ir.sequence"].create(
            {
                "name": f"Batch test {implementation}",
                "implementation": implementation,
                "prefix": "T/%(year)s/%(month)s-",
                "suffix": "/%(y)s",
                "padding": 5,
                "number_next": 7,
                "number_increment": 3,
                **values,
            }
        )

    def _assert_draws_like_next_by_id(self, implementation, **values):
        # Two sequences alike: one drawn by Odoo's public path alone, the
        # other by it and the batch in turns; both give the same numbers.
        reference = self._sequence(implementation, **values)
        mixed = self._sequence(implementation, **values)
        expected = [reference.next_by_id() for _number in range(7)]
        drawn = [mixed.next_by_id(), *self.Batch._next_numbers(mixed, 4), mixed.next_by_id()]
        drawn += self.Batch._next_numbers(mixed, 1)
        self.assertEqual(drawn, expected)
        self.assertEqual(len(set(drawn)), 7)

    def test_a_standard_sequence_draws_the_numbers_next_by_id_would(self):
        self._assert_draws_like_next_by_id("standard")

    def test_a_gapless_sequence_draws_the_numbers_next_by_id_would(self):
        self._assert_draws_like_next_by_id("no_gap")

    def test_a_sequence_by_date_range_draws_the_numbers_next_by_id_would(self):
        self._assert_draws_like_next_by_id("standard", use_date_range=True)

    def test_no_number_is_drawn_for_none(self):
        sequence = self._sequence("no_gap")
        self.assertEqual(self.Batch._next_numbers(sequence, 0), [])
        self.assertEqual(sequence.next_by_id(), sequence.get_next_char(7))

    def test_a_user_who_may_not_read_sequences_draws_none(self):
        sequence = self._sequence("standard")
        portal = self.env["res.users"].create(
            {
                "name": "Portal",
                "login": "sequence-batch-portal",
                "group_ids": [(6, 0, [self.env.ref("base.group_portal").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.Batch.with_user(portal)._next_numbers(sequence.with_user(portal), 3)

    def test_new_collections_of_companies_sharing_a_sequence_are_numbered_in_order(self):
        self.env["ir.sequence"].search([("code", "=", SEQUENCE_CODE)]).active = False
        shared = self._sequence("standard", code=SEQUENCE_CODE, company_id=False, number_increment=1)
        other = self.env["res.company"].create({"name": "Sequence batch other company"})
        vals_list = [{"company_id": company.id} for company in (self.env.company, other, self.env.company)]
        self.env["collection.enrollment"]._assign_names(vals_list)
        self.assertEqual([vals["name"] for vals in vals_list], [shared.get_next_char(n) for n in (7, 8, 9)])
