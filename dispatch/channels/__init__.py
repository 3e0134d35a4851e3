"""Channels that bring tickets to people: ``Channel`` protocol and its implementations."""

from dispatch.channels.base import Channel, DeliveryError
from dispatch.channels.console import ConsoleChannel
from dispatch.channels.grouprobots import DingTalkChannel, WeComChannel
from dispatch.channels.mqtt import MqttChannel
from dispatch.channels.recording import Recorded, RecordingChannel
from dispatch.channels.webhook import WebhookChannel

__all__ = [
    "Channel",
    "ConsoleChannel",
    "DeliveryError",
    "DingTalkChannel",
    "MqttChannel",
    "Recorded",
    "RecordingChannel",
    "WeComChannel",
    "WebhookChannel",
]
