from . import collection_enroll_wizard
from . import collection_rule_test
