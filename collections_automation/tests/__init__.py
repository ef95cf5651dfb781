from . import test_access
from . import test_views
from . import test_tour_menu
