from . import test_sms_stage
from . import test_sms_translations
