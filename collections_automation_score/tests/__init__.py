from . import test_customer_score_companies
from . import test_payment_score
from . import test_score_tours
