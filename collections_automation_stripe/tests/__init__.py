from . import test_stripe_retries
from . import test_stripe_webhook
