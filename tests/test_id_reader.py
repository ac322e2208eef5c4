"""The chip reader: SAM frames, the text block, and the real serial code over a simulated reader on a pty."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest

from devices.id_reader import (
    FIND_CARD,
    READ_TEXT_PHOTO,
    SELECT_CARD,
    FakeIdReader,
    Garbled,
    ReaderError,
    ReaderMonitor,
    SerialIdReader,
    answer_frame,
    command_frame,
    decode_photo,
    devices_in_use,
    open_reader,
    probe,
    read_answer,
)
from kiosk.config import SettingsError, load_settings
from kiosk.id_reader_spec import parse_spec
from kiosk.idcard.chip import ChipRefused, decode_text
from main import main
from tools.id_reader_sim import LONG_TERM_CARD, RARE_NAME_CARD, ReaderSimulator, text_block
from tools.synth_frames import wrong_check_digit

TODAY = date(2026, 12, 7)


def stream(data: bytes):
    buffer = bytearray(data)

    def read(n: int) -> bytes:
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    return read


@pytest.fixture
def sim():
    simulator = ReaderSimulator(text_block(RARE_NAME_CARD))
    yield simulator
    simulator.close()


def test_command_frames_match_the_published_bytes() -> None:
    assert command_frame(*FIND_CARD) == bytes.fromhex("AAAAAA96690003200122")
    assert command_frame(*SELECT_CARD) == bytes.fromhex("AAAAAA96690003200221")
    assert command_frame(*READ_TEXT_PHOTO) == bytes.fromhex("AAAAAA96690003300132")


def test_captured_answers_parse() -> None:
    found = read_answer(stream(bytes.fromhex("AAAAAA9669000800009F0000000097")), time.monotonic() + 1)
    assert (found.sw3, found.data) == (0x9F, b"\x00" * 4)
    capture = bytes.fromhex("AAAAAA9669000C00009000000000000000009C")
    selected = read_answer(stream(capture), time.monotonic() + 1)
    assert selected.sw3 == 0x90 and len(selected.data) == 8


def test_resynchronises_after_noise_and_a_half_frame() -> None:
    good = answer_frame(0x9F, b"\x01\x02\x03\x04")
    noisy = b"\x00\xff\xaa\xaa" + good[:9] + good
    answer = read_answer(stream(noisy), time.monotonic() + 1)
    assert answer.data == b"\x01\x02\x03\x04"


def test_bad_check_byte_and_absurd_length_are_garbled() -> None:
    frame = answer_frame(0x90, b"abc")
    with pytest.raises(Garbled):
        read_answer(stream(frame[:-1] + bytes((frame[-1] ^ 1,))), time.monotonic() + 1)
    with pytest.raises(Garbled):
        read_answer(stream(b"\xaa\xaa\xaa\x96\x69\xff\xff"), time.monotonic() + 1)


def test_text_block_decodes_rare_characters_exactly() -> None:
    identity = decode_text(text_block(RARE_NAME_CARD), TODAY)
    assert identity.fields == RARE_NAME_CARD
    front = identity.side("front")
    assert front.complete and front.low_confidence_fields() == []
    assert identity.side("back").fields["valid_until"] == "2036-05-01"


def test_long_term_card_and_ethnicity_code() -> None:
    identity = decode_text(text_block(LONG_TERM_CARD), TODAY)
    assert identity.fields["valid_until"] == "长期"
    assert identity.fields["ethnicity"] == "壮"  # GB 3304 code 08
    assert identity.fields["name"] == "禤国强"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id_number": wrong_check_digit(RARE_NAME_CARD["id_number"][:17])}, "id_checksum"),
        ({"sex_code": "1"}, "id_sex_mismatch"),
        ({"birth_date": "1990-03-08"}, "id_birth_mismatch"),
        ({"ethnicity_code": "99"}, "ethnicity_unknown"),
        ({"valid_until": "2031-05-01"}, "field_corrected"),  # a camera slip would be repaired to 2036
        ({"valid_until": "2026-05-01"}, "invalid_validity"),  # issued at 26: 20 years, not 10
        ({"name": ""}, "field_missing"),
    ],
)
def test_inconsistent_chip_answer_is_refused_whole(change: dict[str, str], reason: str) -> None:
    with pytest.raises(ChipRefused) as refused:
        decode_text(text_block({**RARE_NAME_CARD, **change}), TODAY)
    assert reason in refused.value.reasons


def test_chip_address_is_kept_as_registered() -> None:
    # A camera reading's "12-3号" is taken for a misread digit; the chip's text is the registered address.
    card = {**RARE_NAME_CARD, "address": "广东省广州市天河区体育西路12-3号"}
    assert decode_text(text_block(card), TODAY).fields["address"] == card["address"]


def test_expired_card_is_read_with_the_warning_the_camera_path_gives() -> None:
    identity = decode_text(text_block(RARE_NAME_CARD), date(2037, 1, 1))
    assert identity.side("back").warnings == ["expired"]


def test_serial_reader_reads_a_card_over_the_pty(sim: ReaderSimulator) -> None:
    reader = SerialIdReader(sim.device)
    try:
        read = reader.read_card()
    finally:
        reader.close()
    assert decode_text(read.text, TODAY).fields["name"] == "厍䶮"
    assert read.photo == sim.photo
    assert sim.commands == [FIND_CARD, SELECT_CARD, READ_TEXT_PHOTO]


def test_missing_card(sim: ReaderSimulator) -> None:
    sim.card = None
    reader = SerialIdReader(sim.device)
    with pytest.raises(ReaderError) as error:
        reader.read_card()
    reader.close()
    assert error.value.kind == "no_card"


def test_one_garbled_answer_is_asked_again(sim: ReaderSimulator) -> None:
    sim.garble = 1
    sim.noise = b"\x13\x37\xaa\xaa\xaa"
    reader = SerialIdReader(sim.device)
    read = reader.read_card()
    reader.close()
    assert decode_text(read.text, TODAY).fields["id_number"] == RARE_NAME_CARD["id_number"]
    assert sim.commands == [FIND_CARD, FIND_CARD, SELECT_CARD, READ_TEXT_PHOTO]


def test_garbage_on_every_retry_is_reported_not_used(sim: ReaderSimulator) -> None:
    sim.garble = 10
    reader = SerialIdReader(sim.device, retries=2)
    with pytest.raises(ReaderError) as error:
        reader.read_card()
    reader.close()
    assert error.value.kind == "garbled"
    assert len(sim.commands) == 3


def test_slow_answer_within_and_beyond_the_timeout(sim: ReaderSimulator) -> None:
    sim.delay_s = 0.15
    reader = SerialIdReader(sim.device, timeout_s=0.5)
    assert reader.read_card().text == sim.card
    reader.timeout_s, reader.retries = 0.05, 1
    with pytest.raises(ReaderError) as error:
        reader.read_card()
    reader.close()
    assert error.value.kind == "timeout"


def test_unplugged_device(sim: ReaderSimulator) -> None:
    reader = SerialIdReader(sim.device, timeout_s=0.3)
    reader.read_card()
    sim.unplug()
    with pytest.raises(ReaderError) as error:
        reader.read_card()
    assert error.value.kind in ("unplugged", "timeout")
    reader.close()
    with pytest.raises(ReaderError) as error:
        SerialIdReader("/dev/nonexistent-reader").read_card()
    assert error.value.kind == "unplugged"


def test_reader_specs() -> None:
    assert parse_spec("serial:/dev/ttyUSB0").baud == 115200
    assert parse_spec("serial:/dev/ttyUSB1:9600").device == "/dev/ttyUSB1"
    for bad in ("serial:", "serial:/dev/ttyUSB0:1234", "usb", "serial:/dev/x:fast"):
        with pytest.raises(ValueError):
            parse_spec(bad)
    assert open_reader("none") is None
    with pytest.raises(ReaderError) as error:
        open_reader("bogus")
    assert error.value.kind == "config"


def test_fake_reader() -> None:
    assert FakeIdReader(text_block(LONG_TERM_CARD)).read_card().text == text_block(LONG_TERM_CARD)
    with pytest.raises(ReaderError):
        FakeIdReader().read_card()


def test_photo_is_not_available_without_a_vendor_library(tmp_path) -> None:
    assert decode_photo(b"\x00" * 1024, None) is None
    assert decode_photo(b"\x00" * 1024, tmp_path / "libwlt.so") is None


def test_monitor_keeps_state_and_probes_again_after_a_hot_plug(sim: ReaderSimulator) -> None:
    probes: list[str] = []
    present = {"nodes": frozenset({sim.device})}

    def opener(spec: str) -> SerialIdReader | None:  # what probe() finds among the nodes present
        probes.append(",".join(present["nodes"]))
        if not present["nodes"]:
            return None
        (device,) = present["nodes"]
        return SerialIdReader(device, timeout_s=0.3, retries=0)

    monitor = ReaderMonitor("auto", opener, devices=lambda: present["nodes"])
    assert monitor.poll() is not None and monitor.state == "ready" and monitor.last_read_at
    sim.unplug()
    with pytest.raises(ReaderError):
        monitor.poll()
    assert monitor.state == "unplugged" and monitor.errors == 1
    present["nodes"] = frozenset()  # the adapter's node is gone
    assert monitor.poll() is None  # not probed again at once
    monitor._next_try = 0.0  # the re-probe interval has passed and the nodes changed: one probe
    assert monitor.poll() is None
    monitor._next_try = 0.0
    assert monitor.poll() is None and len(probes) == 2  # nothing was plugged in since: no new probe
    back = ReaderSimulator(text_block(LONG_TERM_CARD))  # plugged back in, under a new name
    present["nodes"] = frozenset({back.device})
    monitor._next_try = 0.0
    try:
        read = monitor.poll()
    finally:
        monitor.close()
        back.close()
    assert read is not None and decode_text(read.text, TODAY).fields["name"] == "禤国强"
    assert probes == [sim.device, "", back.device] and monitor.state == "ready"


def test_auto_probe_finds_the_reader_and_leaves_the_printer_alone(sim: ReaderSimulator) -> None:
    sim.card = None
    assert devices_in_use(f"escpos-serial:{sim.device}:9600") == {sim.device}
    assert probe(frozenset({sim.device}), exclude=devices_in_use(f"escpos-serial:{sim.device}")) is None
    assert sim.commands == []  # nothing was written to the printer's port
    found = probe(frozenset({"/dev/nonexistent-tty", sim.device}))
    assert found is not None and found.device == sim.device
    found.close()


def test_monitor_without_a_reader() -> None:
    monitor = ReaderMonitor("none")
    assert not monitor.configured and monitor.poll() is None and monitor.state == "none"


def test_id_reader_setting_is_validated(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"id_reader": "serial:/dev/ttyUSB0:9600"}).id_reader.endswith("9600")
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path, {"id_reader": "usb:1234"})
    assert error.value.key == "id_reader"


def test_read_id_command_prints_the_card(
    sim: ReaderSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["read-id", "--device", f"serial:{sim.device}", "--json", *data]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fields"] == RARE_NAME_CARD  # the full number: this command is for operators
    assert out["source"] == "chip" and out["ms"] > 0 and out["photo"] == "not available"
    sim.card = None
    assert main(["read-id", "--device", f"serial:{sim.device}", *data]) == 1
    assert "no_card" in capsys.readouterr().out
    assert main(["read-id", *data]) == 2  # no reader configured
    assert "no ID-card reader" in capsys.readouterr().err
