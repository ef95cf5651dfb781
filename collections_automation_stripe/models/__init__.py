from . import collection_webhook_event
from . import payment_provider
from . import payment_transaction
