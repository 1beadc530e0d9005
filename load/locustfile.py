"""Abi's load scenarios. Run through run_headless.py, which prepares the fixture
(``$LOAD_FIXTURE``) and picks the user classes; or by hand:

    LOAD_FIXTURE=fixture.json locust -f load/locustfile.py ApiUser WebSocketUser
"""

from rest_users import ApiUser, TokenUser
from ws_users import WebSocketUser

__all__ = ["ApiUser", "TokenUser", "WebSocketUser"]
