"""Connects the webhooks outbox to the tickets' timeline (see ``tickets.signals``)."""
