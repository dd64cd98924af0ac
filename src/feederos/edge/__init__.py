"""StreetGrid edge node: relays, CT metering, local protection and messages for a Raspberry Pi."""
