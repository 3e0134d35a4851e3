"""Registry CSVs as Excel saves them on a Chinese Windows: GBK (and its superset GB18030)
is read; a file in neither UTF-8 nor GBK is refused with its line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifesign.config.errors import ConfigError
from lifesign.registry import Registry

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "registry"


def _households_in(tmp_path: Path, encoding: str) -> Path:
    text = (CONFIGS / "households.csv").read_text(encoding="utf-8").replace("Chen Yan", "陈燕").replace(
        "Lin Ping (daughter)", "林平（女儿）")
    path = tmp_path / f"households-{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_a_registry_saved_by_excel_in_gbk_or_utf8_reads_the_same(tmp_path: Path, encoding: str) -> None:
    registry = Registry.load(_households_in(tmp_path, encoding), CONFIGS / "meters.csv")
    h = registry.household_by_id("H00001")
    assert h.resident.name == "陈燕"
    assert h.resident.emergency_contact.startswith("林平（女儿）")


def test_a_file_in_another_encoding_is_refused_with_its_line_and_a_hint(tmp_path: Path) -> None:
    good = (CONFIGS / "households.csv").read_bytes()
    lines = good.split(b"\n")
    lines[2] = lines[2].replace(b"Wu Yan", b"Wu \xff\xff Yan")  # no UTF-8, no GB18030 reads 0xFF
    path = tmp_path / "households.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ConfigError) as err:
        Registry.load(path, CONFIGS / "meters.csv")
    assert str(err.value) == (f"{path}:3: is neither UTF-8 nor GBK/GB18030 text (byte 0xff cannot be read); "
                              'save it as "CSV UTF-8" (Excel: File > Save As)')
