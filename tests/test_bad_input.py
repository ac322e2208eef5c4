"""Bad files the kiosk reads end in a message naming the file and exit status 2, never a traceback; the
reader helper caps size and depth for every one of them."""

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.central_client import Credentials, HttpCentral, Unavailable, save_credentials
from kiosk.config import SettingsError, load_settings
from kiosk.fileio import FileProblem, json_depth, parse_json, read_json, read_toml
from main import main

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def _run(argv: list[str], data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main([*argv, "--data-dir", str(data)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out + captured.err


def _enrolled(data: Path, url: str = "http://127.0.0.1:9") -> None:
    save_credentials(
        data / "secrets",
        Credentials(url, "dev-1", "token", "default", "a2V5", "c2VhbA=="),
    )


# --- the reader ------------------------------------------------------------------------------------------


def test_depth_is_counted_outside_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(DEEP) == 100_000
    with pytest.raises(FileProblem, match=r"answers\.json: JSON nested more than 64 deep"):
        parse_json(DEEP, "answers.json")
    assert parse_json('{"a": [[1]]}', "x") == {"a": [[1]]}


def test_size_folder_encoding_and_nan_are_refused_naming_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000 + b"{}")
    with pytest.raises(FileProblem, match=r"big\.json: 2002 bytes, more than the 1000 allowed"):
        read_json(big, max_bytes=1000)
    with pytest.raises(FileProblem, match="is a folder"):
        read_json(tmp_path)
    latin = tmp_path / "latin.json"
    latin.write_bytes('"café"'.encode("latin-1"))
    with pytest.raises(FileProblem, match=r"latin\.json: not UTF-8"):
        read_json(latin)
    nan = tmp_path / "nan.json"
    nan.write_text('{"x": NaN}')
    with pytest.raises(FileProblem, match="not valid JSON"):
        read_json(nan)
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "absent.json")
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("a = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(FileProblem, match="nested more than 64 deep"):
        read_toml(deep_toml)


# --- kiosk.toml ------------------------------------------------------------------------------------------


INT = "is not a valid int"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes("site_name = '检查站'".encode("gb18030")), "kiosk.toml: not UTF-8 text"),
        (lambda p: p.mkdir(), "kiosk.toml: is a folder, not a file"),
        (lambda p: p.write_text("idle_timeout_s = 1e400"), f"setting 'idle_timeout_s': inf {INT}"),
        (lambda p: p.write_text("idle_timeout_s = 12.5"), f"setting 'idle_timeout_s': 12.5 {INT}"),
        (lambda p: p.write_text("verdict_hold_s = nan"), "setting 'verdict_hold_s': nan is not a valid"),
        (lambda p: p.write_text("site_name = { a = 1 }"), "setting 'site_name': {'a': 1} is not a valid str"),
        (lambda p: p.write_text("sound = [1]"), "setting 'sound': [1] is not a valid bool"),
        (lambda p: p.write_text("site_name = 2026-01-01"), "setting 'site_name'"),
        (lambda p: p.write_text("site_name = " + "[" * 100_000), "kiosk.toml: nested more than 64 deep"),
    ],
)
def test_bad_settings_files_are_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], object], message: str
) -> None:
    make(tmp_path / "kiosk.toml")
    with pytest.raises(SettingsError):
        load_settings(tmp_path)
    for command in (["outbox"], ["sync"], ["run"]):
        code, out = _run(command, tmp_path, capsys)
        assert code == 2
        assert message in out


# --- secrets ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'{"url": "http://x", "device_', b"[]", b'{"url": 1}', DEEP.encode()])
def test_a_damaged_enrolment_is_named_and_submissions_still_go_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "central.json").write_bytes(content)
    for command in (["sync"], ["export", "--out", str(tmp_path / "out.bin")]):
        code, out = _run(command, tmp_path, capsys)
        assert code == 2
        assert "central.json" in out
    # A person at the kiosk is not turned away because the enrolment file broke: the submission is kept
    # under the local key until the enrolment is readable again.
    assert main(["services", "example", "queue-ticket", "--data-dir", str(tmp_path)]) == 0
    answers = tmp_path / "answers.json"
    answers.write_text(capsys.readouterr().out, "utf-8")
    code, out = _run(["submit", "--service", "queue-ticket", "--answers", str(answers)], tmp_path, capsys)
    assert code == 0, out


@pytest.mark.parametrize("size", [0, 5, 33])
def test_a_key_file_of_the_wrong_size_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: int
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "inspection-hash.key").write_bytes(b"k" * size)
    code, out = _run(["outbox"], tmp_path, capsys)
    assert code == 2
    assert f"inspection-hash.key: secret key file has {size} bytes, expected 32" in out


def test_a_key_file_that_is_a_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secrets" / "inspection-hash.key").mkdir(parents=True)
    code, out = _run(["outbox"], tmp_path, capsys)
    assert code == 2
    assert "inspection-hash.key: secret key file: is a folder, not a file" in out


# --- deep JSON -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deep", [DEEP, DEEP_OBJECT])
def test_a_deep_trust_store_is_ignored_with_a_log_and_commands_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], deep: str
) -> None:
    (tmp_path / "trust-store.json").write_text(deep)
    _enrolled(tmp_path)
    code, out = _run(["outbox"], tmp_path, capsys)
    assert (code, out.splitlines()[0]) == (0, "pending 0, quarantined 0")
    assert "trust store ignored: trust-store.json: JSON nested more than 64 deep" in out
    code, out = _run(["sync"], tmp_path, capsys)
    assert code == 0  # nothing to deliver; the server being unreachable is said, not raised
    assert "ConnectionError" in out
    log = (tmp_path / "logs" / "kiosk.log").read_text("utf-8")
    assert "trust-store.json: JSON nested more than 64 deep" in log


def test_deep_answers_and_a_deep_trust_file_to_import_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    code, out = _run(["submit", "--service", "queue-ticket", "--answers", str(deep)], tmp_path, capsys)
    assert (code, "deep.json: JSON nested more than 64 deep" in out) == (2, True)
    code, out = _run(["keys", "import-trust", str(deep)], tmp_path, capsys)
    assert (code, "deep.json: JSON nested more than 64 deep" in out) == (2, True)
    deep.write_text(DEEP_OBJECT)
    code, out = _run(["verify", "--trust", str(deep), "x"], tmp_path, capsys)
    assert code == 2 and "JSON nested more than 64 deep" in out


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[Callable[[bytes], str]]:
    servers: list[http.server.HTTPServer] = []

    def serve(body: bytes) -> str:
        handler = type("H", (_Answer,), {"body": body})
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()


def test_a_deep_200_answer_from_the_server_is_unreadable_not_a_crash(
    answering: Callable[[bytes], str],
) -> None:
    url = answering(json.dumps({"results": []})[:-2].encode() + b"[" * 100_000 + b"]" * 100_000 + b"]}")
    client = HttpCentral(Credentials(url, "d", "t", "s", "k", "s"), b"\0" * 32)
    with pytest.raises(Unavailable, match="unreadable answer"):
        client.upload("inspection", [{"id": "a"}])


@pytest.mark.parametrize("typed", ["1" + "0" * 400 + ".5", "-1" + "0" * 400 + ".0", 1e308 * 10, float("nan")])
def test_a_number_field_without_bounds_never_takes_infinity_or_nan(typed: object) -> None:
    from kiosk.forms.answers import AnswerError, check_field
    from kiosk.forms.definition import FieldDef

    unbounded = FieldDef("count", "number", {"en": "Count"})
    assert check_field(unbounded, "12.5") == 12.5
    with pytest.raises(AnswerError) as refused:
        check_field(unbounded, typed)
    assert refused.value.key == "form.error.number"


def test_a_deep_lockout_file_locks_and_a_damaged_pin_file_is_named(tmp_path: Path) -> None:
    from kiosk.admin.pin import LOCKOUT_FILE, PIN_FILE, AdminGate

    gate = AdminGate(tmp_path, clock=lambda: 1000.0)
    gate.set_pin("246810")
    (tmp_path / LOCKOUT_FILE).write_text(DEEP_OBJECT)
    attempt = gate.attempt("246810")  # a damaged lockout must not open the gate, nor crash it
    assert not attempt.ok and attempt.locked_for_s > 0
    (tmp_path / LOCKOUT_FILE).unlink()
    (tmp_path / PIN_FILE).write_text(DEEP)
    with pytest.raises(FileProblem, match=r"admin-pin\.json: 200000 bytes, more than the 4096 allowed"):
        gate.attempt("246810")
    (tmp_path / PIN_FILE).write_text("[" * 100 + "]" * 100)
    with pytest.raises(FileProblem, match=r"admin-pin\.json: JSON nested more than 2 deep"):
        gate.attempt("246810")
    (tmp_path / PIN_FILE).write_text("[]")
    with pytest.raises(FileProblem, match=r"admin-pin\.json: not a PIN record"):
        gate.attempt("246810")
