from . import collection_analysis
from . import collection_demand_letter
from . import collection_evidence_pack
