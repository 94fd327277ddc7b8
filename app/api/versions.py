"""The versions of the API's JSON shapes a client may ask for with ``X-Api-Version``."""

CURRENT_VERSION = 12
MIN_VERSION = 3
