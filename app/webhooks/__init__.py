"""Webhooks: each change to an account's customers is posted to the endpoints its admins registered."""
