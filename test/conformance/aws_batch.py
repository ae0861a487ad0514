"""Run many `aws` command lines in one Python process (aws-cli starts in ~1 s; a command then
takes ~0.2 s). Reads a JSON list of {"args": [...], "stdin": "..."?} on stdin; writes a JSON list
of {"code", "stdout", "stderr"} on the original stdout. Each command's stdin, stdout and stderr
are redirected at the file-descriptor level, as if it ran alone."""
import json
import os
import sys
import tempfile
import time

from awscli.clidriver import create_clidriver

commands = json.load(sys.stdin)
saved = {fd: os.dup(fd) for fd in (0, 1, 2)}
results = []
for command in commands:
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin.write((command.get("stdin") or "").encode("utf-8"))
        stdin.seek(0)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(stdin.fileno(), 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        started = time.monotonic()
        try:
            code = create_clidriver().main(command["args"])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
        out.seek(0)
        err.seek(0)
        results.append({
            "code": code,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "seconds": round(time.monotonic() - started, 2),
        })
os.write(saved[1], json.dumps(results).encode("utf-8"))
