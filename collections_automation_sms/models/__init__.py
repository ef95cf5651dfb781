from . import collection_engine
from . import collection_stage
from . import collection_stage_action_sms
