"""The `lifesign` command speaks the site's language (site.yaml ``language:``), overridden by
``LIFESIGN_LANG`` and ``--lang``; English stays the default. Each command family an
operator in a community office meets is run for real, in both languages, on a site made
from the shipped configs; and the catalogue itself is checked whole."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from brokers import free_port
from probes import eventually
from running import RunningService
from test_service_mode import write_site

from app.cli import main as cli
from app.cli_catalogue import CATALOGUE
from app.ingest_wiring import write_status
from app.service import open_orders_store
from dispatch.ticket_text import LANGUAGES
from ingest.counters import IngestCounters
from lifesign.alerts import EpisodeKey
from simulators.dataset import write_dataset
from simulators.scenario_file import ScenarioSpec

APP = Path(__file__).resolve().parents[1] / "app"
BAD = Path(__file__).parent / "testdata" / "bad"
LANGS = ["en", "zh-CN"]


def site_in(folder: Path, language: str, port: int | None = None) -> Path:
    site = write_site(folder, port or free_port())
    text = site.read_text()
    assert "language: en" in text  # the shipped site names its language
    site.write_text(text.replace("language: en", f"language: {language}"))
    (folder / "var").mkdir(exist_ok=True)
    return site


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the catalogue ------------------------------------------------------------------------
def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_every_language_with_the_same_placeholders() -> None:
    assert CATALOGUE
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), key
        assert fields(texts["zh-CN"]) == fields(texts["en"]), key


#: ids whose Chinese is their English: layout only, or the English id shown as itself
SAME_IN_BOTH = {"orders.ledger_line", "staff.line"}


def test_chinese_is_chinese_unless_the_message_is_layout_only() -> None:
    chinese = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")  # Han, or Chinese (full-width) punctuation
    for key, texts in CATALOGUE.items():
        if key in SAME_IN_BOTH:
            assert texts["zh-CN"] == texts["en"], key
        else:
            assert chinese.search(texts["zh-CN"]), f"{key}: {texts['zh-CN']!r} is not translated"


def test_every_message_id_the_code_names_is_in_the_catalogue() -> None:
    literal = re.compile(r"""(?:say|args\.say|Complaint|Messages\(\))\(\s*"([a-z_]+\.[a-z_.]+)\"""")
    word = re.compile(r"""say\.word\(\s*"([a-z_]+)\"""")
    named = {m for path in APP.rglob("*.py") for m in literal.findall(path.read_text(encoding="utf-8"))}
    families = {m for path in APP.rglob("*.py") for m in word.findall(path.read_text(encoding="utf-8"))}
    assert len(named) > 60 and {"rule", "status", "tier", "outcome", "evidence", "kind"} <= families
    assert sorted(named - set(CATALOGUE)) == []
    for family in families:
        assert any(key.startswith(f"{family}.") for key in CATALOGUE), family


# -- the command families, in both languages -------------------------------------------------
STATUS = {"en": ["status written", "households", "  readings   received", "  broker     connected",
                 "  store      up", "  newest reading"],
          "zh-CN": ["状态写于", "户", "  读数       已接收", "  消息代理   已连接", "  历史存储   正常", "  最新读数"]}


@pytest.mark.parametrize("language", LANGS)
def test_status(language: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_in(tmp_path, language)
    counters = IngestCounters()
    counters.add(messages_received=12, readings_received=40, readings_stored=38)
    counters.set(broker_connected=1, newest_reading_ts=1_700_000_000)
    write_status(tmp_path / "var", counters, {"at": 1_700_000_060, "households": 3, "meters": 6,
                                              "history": "embedded"})
    code, out, _ = run(capsys, "status", "-c", str(site))
    assert code == 0
    for fragment in STATUS[language]:
        assert fragment in out, out
    assert ("readings   received           40" in out) == (language == "en")


ORDERS = {"en": {"list": "#1     H00001     no_usage   open         assignee=gw-001 tier=red level=0 silent-since=",
                 "show": ["  acknowledge by: 1970-01-13 08:01 (15 min for tier red; escalates to the next level then)",
                          "  confirmed_silence_s: 10.0 h", "  threshold crossed: 1970-01-13 07:46",
                          "  last_water: 1970-01-12 21:30", "  power_w: 100 W", "  quiet_w: 16 W"],
                 "resolved": " outcome=false_alarm", "none": "no open work orders"},
          "zh-CN": {"list": "#1     H00001     无用量      待派送    处理人=gw-001 风险等级=红 升级层级=0 静默起始=",
                    "show": ["  接单期限：1970-01-13 08:01（红色等级 15 分钟；逾期升级到下一层级）", "  已确认静默：10.0 小时",
                             "  越过阈值时间：1970-01-13 07:46", "  最后用水：1970-01-12 21:30",
                             "  当前功率(瓦)：100 W", "  静息功率(瓦)：16 W"],
                    "resolved": " 处置结果=误报", "none": "没有未结工单"}}


@pytest.mark.parametrize("language", LANGS)
def test_orders_list_show_and_resolve(language: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_in(tmp_path, language)
    store = open_orders_store(tmp_path / "var")
    try:  # times in the site's zone (Asia/Shanghai): opened 1970-01-13 07:46, red acknowledges within 15 min
        store.open_order(EpisodeKey("H00001", "no_usage", 1_000_000.0), "gw-001", "red", 1_036_000.0,
                         {"deadline": 1_036_000.0, "confirmed_silence_s": 36_000.0, "last_water": 999_000.0,
                          "power_w": 100.0, "quiet_w": 16.0})
    finally:
        store.close()
    expected = ORDERS[language]
    code, out, _ = run(capsys, "orders", "list", "-c", str(site))
    assert code == 0 and out.startswith(str(expected["list"])), out
    code, out, _ = run(capsys, "orders", "show", "1", "-c", str(site))
    assert code == 0
    for line in expected["show"]:
        assert line in out.splitlines(), out
    for action in (["ack", "1"], ["resolve", "1", "--outcome", "false_alarm"]):
        code, out, err = run(capsys, "orders", *action, "-c", str(site))
        assert code == 0, err
    assert str(expected["resolved"]) in out, out
    code, out, _ = run(capsys, "orders", "list", "-c", str(site))
    assert out.strip() == expected["none"]


MUTES = {"en": [r"absence #1 H00001 \S+ \S+ -> \S+ \S+ \(in hospital\)", r"#1    H00001     \S+ \S+ -> \S+ \S+ now     by ",
                r"absence #1 H00001 ended ", r"outage #1 building B001 water \S+ \S+ -> \S+ \S+ \(pipe works\)",
                r"#1    building  B001     water              \S+ \S+ -> \S+ \S+ coming  by ", r"outage #1 building B001 ended "],
         "zh-CN": [r"已登记外出 #1 H00001：\S+ \S+ 至 \S+ \S+（in hospital）", r"#1    H00001     \S+ \S+ 至 \S+ \S+ 进行中   登记人 ",
                   r"外出登记 #1 H00001 已于 \S+ \S+ 结束", r"已登记计划停供 #1 building B001 water：\S+ \S+ 至 \S+ \S+（pipe works）",
                   r"#1    building  B001     water              \S+ \S+ 至 \S+ \S+ 未开始   登记人 ",
                   r"计划停供 #1 building B001 已于 \S+ \S+ 结束"]}


@pytest.mark.parametrize("language", LANGS)
def test_absence_and_outage_confirmations(language: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = str(site_in(tmp_path, language))
    said = []
    for argv in (["absence", "add", "H00001", "--reason", "in hospital", "--for", "3d"], ["absence", "list"],
                 ["absence", "end", "1"],
                 ["outage", "add", "--scope", "building", "--area", "B001", "--utility", "water", "--reason",
                  "pipe works", "--start", "+1h", "--for", "4h"], ["outage", "list"], ["outage", "end", "1"]):
        code, out, err = run(capsys, *argv, "-c", site)
        assert code == 0, err
        said.append(out.strip())
    for line, pattern in zip(said, MUTES[language], strict=True):
        assert re.match(pattern, line), (line, pattern)


@pytest.mark.parametrize("language", LANGS)
def test_bad_input_is_explained_in_the_sites_language(language: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    site = str(site_in(tmp_path, language))
    code, _, err = run(capsys, "absence", "add", "H00001", "--reason", "x", "--for", "3 days", "-c", site)
    assert code == 2
    assert err.strip() == {"en": "error: a duration must be a number and m, h or d (e.g. 90m, 12h, 3d), got '3 days'",
                           "zh-CN": "错误：时长应为数字加 m、h 或 d（如 90m、12h、3d），实际为 '3 days'"}[language]
    # an error from below the CLI keeps its English words, under the lead-in
    code, _, err = run(capsys, "absence", "end", "9", "-c", site)
    assert code == 2 and err.strip() == {"en": "error: ", "zh-CN": "错误："}[language] + \
        "No absence by the id of 9 was found"


CHECKS = {"en": ["site.yaml: checking as a site file (it has neither workers: (roster) nor",
                 "site.yaml: ok (site, with its registry, roster and thresholds"],
          "zh-CN": ["site.yaml：按站点配置检查（文件中既没有 workers:（排班表），也没有",
                    "site.yaml：通过（站点配置及其登记表、排班表和阈值文件"]}


@pytest.mark.parametrize("language", LANGS)
def test_config_check(language: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = site_in(tmp_path, language)
    code, out, err = run(capsys, "config", "check", str(site))  # no -c: the language of the file checked
    assert code == 0, err
    first, last = out.splitlines()[0], out.splitlines()[-1]
    assert first.startswith(f"{site.parent}/{CHECKS[language][0]}"), first
    assert last.startswith(f"{site.parent}/{CHECKS[language][1]}"), last
    # a config error keeps its file:line and field exactly; only the lead-in is the site's language
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("no_usage:", "no_usag:", 1))
    code, out, err = run(capsys, "config", "check", str(site))
    assert code == 2
    lead = {"en": "error: ", "zh-CN": "配置错误（请按文件名和行号修改）："}[language]
    assert re.fullmatch(re.escape(f"{lead}{thresholds}:") + r"\d+: .*no_usag is not a known key.*\n", err), err


@pytest.mark.parametrize("language", LANGS)
def test_staff_add_and_list(language: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = str(site_in(tmp_path, language))
    password = tmp_path / "pw.txt"
    password.write_text("correct horse battery staple\n")
    code, out, err = run(capsys, "staff", "list", "-c", site)
    assert code == 0 and out.strip() == {
        "en": "no staff accounts: create the first with `lifesign staff add NAME --role operator`",
        "zh-CN": "还没有员工账号：用 `lifesign staff add 名字 --role operator` 创建第一个"}[language]
    code, out, err = run(capsys, "staff", "add", "li.ming", "--role", "desk", "--community", "C1",
                         "--password-file", str(password), "-c", site)
    assert code == 0, err
    assert out.strip() == {"en": "staff account li.ming (desk C1) created",
                           "zh-CN": "已创建员工账号 li.ming（desk C1）"}[language]
    code, _, err = run(capsys, "staff", "add", "wang", "--role", "desk", "--grid", "G01", "--password-file",
                       str(password), "-c", site)
    assert code == 2 and err.strip() == {"en": "error: a desk account takes --community",
                                         "zh-CN": "错误：desk 账号应使用 --community"}[language]


@pytest.fixture(scope="module")
def nine_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("learn")
    spec = ScenarioSpec.parse('seed: 4\nstart: "2025-11-01T00:00:00+08:00"\ndays: 9\ncohort: {households: 5}\n'
                              'meters: {cadence: {60min: 1.0}}\n', "nine-days.yaml")
    write_dataset(spec.build(), folder, formats=("parquet",))
    return folder


@pytest.mark.parametrize("language", LANGS)
def test_learn_summary(language: str, nine_days: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    thresholds = Path(__file__).resolve().parents[1] / "configs" / "thresholds.yaml"
    out_file = tmp_path / "learned.yaml"
    code, out, err = run(capsys, "--lang", language, "learn", "--dataset", str(nine_days), "--thresholds",
                         str(thresholds), "-o", str(out_file))
    assert code == 0, err
    first, last = out.splitlines()[0], out.splitlines()[-1]
    source = nine_days / "readings.parquet"
    assert first == {"en": f"5 households learned from 9 days of {source}; suggestions written to {out_file}",
                     "zh-CN": f"已从 {source} 的 9 天数据学习 5 户；建议写入 {out_file}"}[language]
    assert last == {"en": f"review it, then add `include: [learned.yaml]` to {thresholds} to use it",
                    "zh-CN": f"请审阅该文件，确认后在 {thresholds} 中加入 `include: [learned.yaml]` 即可启用"}[language]


WAITING = {"en": ("broker 127.0.0.1:{port} not reachable (connection refused: nothing listens there); retrying in",
                  "lifesign stopped before the broker was reachable"),
           "zh-CN": ("无法连接消息代理 127.0.0.1:{port}（连接被拒绝：该端口没有服务在监听）；", "lifesign 在连上消息代理之前已停止")}


@pytest.mark.parametrize("language", LANGS)
def test_run_waiting_for_the_broker(language: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    running = RunningService(site_in(tmp_path, language, port))
    try:
        waiting, stopped = WAITING[language]
        eventually(lambda: waiting.format(port=port) in running.output, "the retry message")
    finally:
        code = running.stop()
    assert code == 0 and stopped in running.output, running.output


# -- which language -------------------------------------------------------------------------
def test_english_is_the_default_and_the_flag_beats_the_environment_which_beats_the_site(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_in(tmp_path, "zh-CN")
    open_orders_store(tmp_path / "var").close()
    assert run(capsys, "orders", "list", "-c", str(site))[1] == "没有未结工单\n"
    monkeypatch.setenv("LIFESIGN_LANG", "en")
    assert run(capsys, "orders", "list", "-c", str(site))[1] == "no open work orders\n"
    assert run(capsys, "--lang", "zh-CN", "orders", "list", "-c", str(site))[1] == "没有未结工单\n"
    monkeypatch.delenv("LIFESIGN_LANG")
    # a site that names no language (and --data-dir, which names no site) speak English
    plain = tmp_path / "plain.yaml"
    plain.write_text("\n".join(line for line in site.read_text().splitlines() if not line.startswith("language:")))
    assert run(capsys, "orders", "list", "-c", str(plain))[1] == "no open work orders\n"
    assert run(capsys, "orders", "list", "--data-dir", str(tmp_path / "var"))[1] == "no open work orders\n"
    monkeypatch.setenv("LIFESIGN_LANG", "zh-CN")
    code, _, err = run(capsys, "config", "check", str(BAD / "thresholds_typo.yaml"))
    assert code == 2 and err == ("配置错误（请按文件名和行号修改）：" + str(BAD / "thresholds_typo.yaml") +
                                 ":4: tiers.yellow.no_usage.hour is not a known key (did you mean 'hours'?)\n")
    monkeypatch.setenv("LIFESIGN_LANG", "fr")
    code, _, err = run(capsys, "orders", "list", "-c", str(site))
    assert code == 2 and err == "error: LIFESIGN_LANG must be one of en, zh-CN, got 'fr'\n"
