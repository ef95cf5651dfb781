from . import collection_score_override
