"""Channels that bring tickets to people: ``Channel`` protocol and its implementations."""

from dispatch.channels.base import Channel, DeliveryError
from dispatch.channels.console import ConsoleChannel
from dispatch.channels.mqtt import MqttChannel
from dispatch.channels.recording import Recorded, RecordingChannel

__all__ = [
    "Channel",
    "ConsoleChannel",
    "DeliveryError",
    "MqttChannel",
    "Recorded",
    "RecordingChannel",
]
