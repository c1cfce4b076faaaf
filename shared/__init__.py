"""Plumbing shared by the Stint services: config, events, outbox, consumer, auth, errors, health."""
