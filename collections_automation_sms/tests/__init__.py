from . import test_sms_stage
