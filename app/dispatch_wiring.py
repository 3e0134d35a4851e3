"""Dispatch wiring for the service: channels from site.yaml, the mute stage over
``mutes.sqlite`` (absences, outages, storms), and the Dispatcher itself."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TextIO

import paho.mqtt.client as mqtt

from app.site import DispatchSettings
from dispatch.channels.base import Channel
from dispatch.channels.console import ConsoleChannel
from dispatch.channels.grouprobots import DingTalkChannel, WeComChannel
from dispatch.channels.mqtt import MqttChannel
from dispatch.channels.webhook import WebhookChannel
from dispatch.config import ChannelSettings, StormConfig
from dispatch.defaults import ack_deadlines_s
from dispatch.dispatcher import Dispatcher
from dispatch.mutes.base import MuteStore
from dispatch.mutes.grace import MaintenanceGrace
from dispatch.mutes.muters import AbsenceMuter, OutageMuter
from dispatch.mutes.stage import MuteStage
from dispatch.mutes.store import SqliteMuteStore
from dispatch.mutes.storm import StormGuard, StormSettings
from dispatch.orderstores.base import DispatchStore
from lifesign.clock import DEFAULT_TZ, Clock
from lifesign.registry import Registry
from lifesign.roster import Roster

MUTES_FILE = "mutes.sqlite"


def build_channel(settings: ChannelSettings) -> Channel:
    if settings.kind == "wecom":
        return WeComChannel(settings.url, name=settings.name, timeout_s=settings.timeout_s)
    if settings.kind == "dingtalk":
        return DingTalkChannel(settings.url, name=settings.name, secret=settings.secret,
                               timeout_s=settings.timeout_s)
    return WebhookChannel(settings.url, name=settings.name, timeout_s=settings.timeout_s,
                          headers=settings.headers)


def storm_settings(config: StormConfig) -> StormSettings:
    return StormSettings(rules=dict(config.rules), min_homes=config.min_homes,
                         building_share=config.building_share, grid_share=config.grid_share,
                         window_s=config.window_minutes * 60.0, hold_s=config.hold_minutes * 60.0)


def open_mute_store(data_dir: Path) -> SqliteMuteStore:
    return SqliteMuteStore(data_dir / MUTES_FILE)


def build_dispatcher(settings: DispatchSettings, store: DispatchStore, mutes: MuteStore,
                     registry: Registry, roster: Roster, clock: Clock, publisher: mqtt.Client | None,
                     console: TextIO | None = None, tz: tzinfo = DEFAULT_TZ, language: str = "en") -> Dispatcher:
    """``tz``: the site's zone, for the local times on tickets and in mute reasons."""
    channels: list[Channel] = [MqttChannel(publisher)] if publisher is not None else []
    if settings.console:
        channels.append(ConsoleChannel(console))
    channels += [build_channel(c) for c in settings.channels]
    guard = StormGuard(mutes, registry, storm_settings(settings.storm), MaintenanceGrace(settings.maintenance_grace_s))
    stage = MuteStage(mutes, [AbsenceMuter(mutes, tz), OutageMuter(mutes, tz)], guard)
    return Dispatcher(
        store, registry, roster, channels, clock, ack_deadlines_s(settings.ack_deadline_minutes),
        tz=tz, retry_base_s=settings.retry_base_s, retry_max_s=settings.retry_max_s,
        claim_lease_s=settings.claim_lease_s, mutes=stage,
        close_on_usage=settings.close_on_usage, emergency_contact_step=settings.emergency_contact,
        language=language,
    )
