"""Guards against a Qt binding that corrupts the interpreter under the kiosk's signal load.

PySide6 6.12.0 leaks a reference *from* ``True`` on every signal emitted from Python; at 15 preview frames a
second the count reaches zero within minutes and CPython aborts. The check runs in a child process because
the failure is a hard abort, not an exception.
"""

import subprocess
import sys

CHILD = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    plain = Signal()
    payload = Signal(object)

app = QCoreApplication([])
emitter = Emitter()
emitter.plain.connect(lambda: None)
emitter.payload.connect(lambda value: None)
before = sys.getrefcount(True)
for _ in range(20_000):
    emitter.plain.emit()
    emitter.payload.emit(1)
print(sys.getrefcount(True) - before)
"""


def test_emitting_signals_leaves_interpreter_refcounts_intact() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert abs(int(done.stdout.strip())) < 100
