from . import collection_enroll_wizard, collection_rule_test
