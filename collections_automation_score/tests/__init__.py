from . import test_payment_score
