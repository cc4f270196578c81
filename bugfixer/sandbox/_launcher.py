"""The first code that runs inside the sandbox; never imported by the server.

Its text is handed to ``python -I -S -X utf8 -c`` with the arguments
``REPORT_FD MODE CPU_S MEMORY_BYTES FILE_BYTES PROCESSES``. It limits itself (the limits
are inherited by everything the program starts), then runs /tmp/main.py as ``__main__``
in this same interpreter, so a run costs one interpreter start. Limits are set here,
inside the fresh user namespace, because the kernel counts processes per user and
namespace: a fork bomb in one run then cannot starve the others.

The host learns what happened from REPORT_FD: ``S`` once the limits are in place, then a
JSON line describing the main process's uncaught exception or the docstring examples
(forked children stay silent). Tracebacks are
printed as Python prints them, without this launcher's frame.
"""

import _signal
import os
import resource
import sys

MAIN = "/tmp/main.py"
MAIN_PID = os.getpid()


def _on_cpu_limit(signum, frame):
    # As PID 1 of its namespace the launcher would ignore SIGXCPU's default action.
    os._exit(128 + signum)


def _limit(cpu_s, memory, file_size, processes):
    _signal.signal(_signal.SIGXCPU, _on_cpu_limit)
    # Memory is limited per process; should many processes together exhaust the host,
    # the kernel's OOM killer is to pick them, not the server.
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    for which, soft, hard in (
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_FSIZE, file_size, file_size),
        (resource.RLIMIT_NPROC, processes, processes),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def _user_frames(tb):
    """Drop the launcher's own leading frames, as Python does for a script's runner."""
    while tb is not None and tb.tb_frame.f_code.co_filename != MAIN:
        tb = tb.tb_next
    return tb


def _describe(exc, tb):
    import traceback

    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ not in ("__main__", "builtins"):
        name = f"{cls.__module__}.{name}"
    try:
        text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
        message = " ".join(text.split())
    except Exception:
        message = "<unprintable>"
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == MAIN:
            line = lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == MAIN:
        line = exc.lineno
    text = "".join(traceback.format_exception(cls, exc, tb))
    return {
        "type": name,
        "message": message[:1000],
        "line": line,
        "traceback": text[-8000:],
        "eof_from_input": isinstance(exc, EOFError),
    }


def _send(fd, payload):
    if os.getpid() != MAIN_PID:
        return
    import json

    os.write(fd, json.dumps(payload).encode() + b"\n")


def _doctests(module):
    import doctest

    first = []

    class Runner(doctest.DocTestRunner):
        def _note(self, test, example, detail):
            if not first:
                line = None
                if test.lineno is not None:
                    line = test.lineno + example.lineno + 1
                first.append({"line": line, "source": example.source.strip(), "detail": detail})

        def report_failure(self, out, test, example, got):
            self._note(test, example, f"expected {example.want.strip()}, got {got.strip()}")
            super().report_failure(out, test, example, got)

        def report_unexpected_exception(self, out, test, example, exc_info):
            name = exc_info[0].__name__
            self._note(test, example, f"raised {name}: {exc_info[1]}")
            super().report_unexpected_exception(out, test, example, exc_info)

    runner = Runner(verbose=False)
    for test in doctest.DocTestFinder().find(module, module.__name__):
        runner.run(test)
    return {
        "attempted": runner.tries,
        "failed": runner.failures,
        "first_failure": first[0] if first else None,
    }


def main():
    report = int(sys.argv[1])
    mode = sys.argv[2]
    _limit(*(int(a) for a in sys.argv[3:7]))
    os.write(report, b"S")

    with open(MAIN, encoding="utf-8") as f:
        source = f.read()
    module = type(sys)("__main__")
    module.__file__ = MAIN
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    sys.argv = [MAIN]
    try:
        exec(compile(source, MAIN, "exec"), module.__dict__)
        if mode == "doctest":
            _send(report, {"doctests": _doctests(module)})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            _send(report, {"exception": _describe(exc, _user_frames(exc.__traceback__))})
        raise
    except BaseException as exc:
        tb = _user_frames(exc.__traceback__)
        _send(report, {"exception": _describe(exc, tb)})
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        sys.exit(1)


main()
