"""Notifications: the channel registry (in-app, email, SMS, group robots,
webhooks), the outbox that carries whatever leaves the process, message
templates and the in-app notification centre (docs/rules.md)."""
