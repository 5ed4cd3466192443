"""Delivery of notifications beyond the app: Web Push (VAPID) and email (SMTP)."""
