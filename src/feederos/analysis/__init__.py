"""Analyses on solved feeders: hosting capacity (and, to come, reliability, risk, cost)."""
