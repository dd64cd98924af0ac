"""Controllers that run as Feeder OS apps: the StreetGrid microgrid orchestrator."""
