"""dispatch: alerts → work orders → people (dedup, assign, deliver with confirmation, escalate)."""

from dispatch.dispatcher import Dispatcher
from dispatch.ticket import Ticket, render_ticket

__all__ = ["Dispatcher", "Ticket", "render_ticket"]
