# One handler per stage action, in the order the engine runs them.
from . import base
from . import late_charge
from . import email
from . import letter
from . import activity
from . import payment_retry
from . import escalation
