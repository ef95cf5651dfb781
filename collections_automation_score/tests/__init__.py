from . import test_payment_score
from . import test_score_tours
