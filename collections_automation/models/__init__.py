from . import collection_process
from . import collection_stage
from . import collection_demo_loader
