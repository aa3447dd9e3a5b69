"""The sandbox's own tables: nothing here is shared with the platform's models."""

from sandbox.models.accounts import Account, Application, Event, Token  # noqa: F401
from sandbox.models.commerce import *  # noqa: F403
from sandbox.models.delivery import *  # noqa: F403
from sandbox.models.disputes import *  # noqa: F403
from sandbox.models.reports import *  # noqa: F403
