"""Solution methods of the power flow; each returns node voltages for a compiled network."""
