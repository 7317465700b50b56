"""Marts domain: PAC per channel (with its history) and the budget plan."""
