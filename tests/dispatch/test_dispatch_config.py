"""site.yaml's dispatch section: channels, storm guard, closing policy; exact errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dispatch_wiring import build_dispatcher, open_mute_store
from app.site import SiteConfig
from dispatch.orderstores import MemoryWorkOrderStore
from lifesign.clock import ManualClock
from lifesign.config.errors import ConfigError
from lifesign.grid import Tier
from lifesign.registry import Registry
from lifesign.roster import Roster

HEAD = """registry: {households: h.csv, meters: m.csv}
roster: roster.yaml
thresholds: thresholds.yaml
data_dir: var
dispatch:
"""
FULL = HEAD + """  ack_deadline_minutes: {red: 10}
  console: false
  emergency_contact: false
  close_on_usage: {green: person}
  retry: {base_s: 5, max_s: 300, claim_s: 30}
  maintenance_grace_s: 90
  storm: {min_homes: 4, building_share: 0.6, hold_minutes: 60, rules: {no_usage: [warning, critical]}}
  channels:
    - {kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"}
    - {kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=T", secret: SECx}
    - {kind: webhook, name: sms, url: "http://127.0.0.1:9/sms", headers: {Authorization: Bearer x}}
"""


def parse(text: str) -> SiteConfig:
    return SiteConfig.parse(text, Path("/site"), "site.yaml")


def test_the_whole_section_is_read(tmp_path: Path, registry: Registry, roster: Roster) -> None:
    d = parse(FULL).dispatch
    assert d.ack_deadline_minutes[Tier.RED] == 10 and d.ack_deadline_minutes[Tier.GREEN] == 240
    assert (d.console, d.emergency_contact, d.retry_base_s, d.retry_max_s) == (False, False, 5.0, 300.0)
    assert d.claim_lease_s == 30.0 and parse(HEAD + "  console: true\n").dispatch.claim_lease_s == 120.0
    assert d.maintenance_grace_s == 90.0 and parse(HEAD + "  console: true\n").dispatch.maintenance_grace_s == 300.0
    assert d.close_on_usage == {Tier.RED: "person", Tier.YELLOW: "person", Tier.GREEN: "person"}
    assert (d.storm.min_homes, d.storm.building_share, d.storm.hold_minutes, d.storm.grid_share) == (4, 0.6, 60, 0.5)
    assert d.storm.rules == {"no_usage": ("warning", "critical")}
    assert [(c.kind, c.name) for c in d.channels] == [("wecom", "wecom"), ("dingtalk", "dingtalk"),
                                                      ("webhook", "sms")]
    assert d.channels[2].headers == {"Authorization": "Bearer x"}
    mutes = open_mute_store(tmp_path)
    try:
        dispatcher = build_dispatcher(d, MemoryWorkOrderStore(), mutes, registry, roster, ManualClock(0), None)
        assert list(dispatcher.channels) == ["wecom", "dingtalk", "sms"]
        assert dispatcher.mutes is not None and dispatcher.mutes.guard is not None
        assert dispatcher.mutes.guard.settings.hold_s == 3600.0
        assert dispatcher.mutes.grace.grace_s == dispatcher.mutes.guard.grace.grace_s == 90.0
        assert dispatcher.assigner.emergency_contact_step is False
        assert dispatcher.deliverer.claim_lease_s == 30.0
    finally:
        mutes.close()


@pytest.mark.parametrize(("section", "message"), [
    ("  channels:\n    - {kind: slack, url: http://x}\n",
     "site.yaml:7: dispatch.channels[0].kind must be one of wecom, dingtalk, webhook, got 'slack'"),
    ("  channels:\n    - {kind: webhook, url: ftp://x}\n",
     "site.yaml:7: dispatch.channels[0].url must start with http:// or https://, got 'ftp://x'"),
    ("  channels:\n    - {kind: webhook, url: http://a}\n    - {kind: webhook, url: http://b}\n",
     ("site.yaml:8: dispatch.channels[1].kind gives the channel name 'webhook' twice (or a built-in one); "
      "add a unique 'name'")),
    ("  channels:\n    - {kind: wecom, url: http://a, secret: s}\n",
     "site.yaml:7: dispatch.channels[0].secret is only used by dingtalk channels, not wecom"),
    ("  close_on_usage: {red: robot}\n",
     "site.yaml:6: dispatch.close_on_usage.red must be one of person, auto, got 'robot'"),
    ("  storm: {building_share: 1.5}\n", "site.yaml:6: dispatch.storm.building_share must be <= 1, got 1.5"),
    ("  retry: {claim_s: 0.5}\n", "site.yaml:6: dispatch.retry.claim_s must be >= 1, got 0.5"),
    ("  maintenance_grace_s: -5\n", "site.yaml:6: dispatch.maintenance_grace_s must be >= 0, got -5"),
    ("  maintenance_grace_minutes: 5\n",
     "site.yaml:6: dispatch.maintenance_grace_minutes is not a known key (did you mean 'maintenance_grace_s'?)"),
    ("  storm: {rules: {no_usage: [fatal]}}\n",
     "site.yaml:6: dispatch.storm.rules.no_usage[0] must be one of warning, critical, got 'fatal'"),
    ("  retry: {base_s: 60, max_s: 10}\n", "site.yaml:6: dispatch.retry max_s must be >= base_s, got 10 < 60"),
    ("  stormy: {}\n", "site.yaml:6: dispatch.stormy is not a known key (did you mean 'storm'?)"),
])
def test_bad_sections_are_refused_with_file_line_field_and_value(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(HEAD + section)
    assert str(caught.value) == message
