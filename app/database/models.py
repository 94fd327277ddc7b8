"""Every model, imported in one place for Alembic and the CLI."""

from app.accounts.models import Account, ApiToken, User
from app.customers.history import CustomerEvent
from app.customers.models import Address, Customer, CustomerWord, Phone, SearchWord
from app.customers.trash import TrashedCustomer
from app.database.base import Base
from app.integrations.models import OAuthApp, OAuthToken
from app.shared.ratelimit import RateLimitCounter
from app.web.models import LoginFailure, WebSession
from app.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "Address",
    "ApiToken",
    "Base",
    "Customer",
    "CustomerEvent",
    "CustomerWord",
    "LoginFailure",
    "OAuthApp",
    "OAuthToken",
    "Phone",
    "RateLimitCounter",
    "SearchWord",
    "TrashedCustomer",
    "User",
    "WebSession",
    "WebhookDelivery",
    "WebhookEndpoint",
]
