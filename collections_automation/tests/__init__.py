from . import test_access, test_tour_menu, test_views
