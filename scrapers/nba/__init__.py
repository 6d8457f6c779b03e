"""NBA facts every source shares: the 30 teams, other sources' team codes, canonical game keys."""
