from . import collection_enroll_wizard
from . import collection_rule_test
from . import collection_stage_move_wizard
from . import collection_process_activation
from . import collection_dispute_resolution
from . import collection_late_charge_waive
from . import collection_legal_refuse
