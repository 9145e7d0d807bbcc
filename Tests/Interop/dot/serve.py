#!/usr/bin/env python3
"""Serves the fixture with waitress (threaded) on 127.0.0.1, on a port the kernel picks.

Binding port 0 and reporting the port afterwards avoids the race of probing for a free
port first. The port is written atomically to $TOKENTOP_INTEROP_RUN_DIR/port once the
socket listens. With TOKENTOP_OAUTH_WATCH_PID set, the server exits when that process
is gone, so a server started by `swift test` alone does not outlive it.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path


def watch(pid):
    # Poll rather than rely on signals: the watched process may die by SIGKILL.
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main():
    # A parent may start us from a thread that blocks signals (libdispatch workers do), and the
    # mask survives exec: unblock the ones `scripts/oauth-server stop` and Ctrl-C send.
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    for number in stop_signals:
        signal.signal(number, signal.SIG_DFL)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokentop_dot.settings")
    from waitress.server import create_server

    from tokentop_dot.wsgi import application

    run_dir = Path(os.environ["TOKENTOP_INTEROP_RUN_DIR"])
    threads = int(os.environ.get("TOKENTOP_OAUTH_THREADS", "8"))
    server = create_server(application, host="127.0.0.1", port=0, threads=threads, ident="tokentop-dot")

    port_file = run_dir / "port"
    tmp = run_dir / "port.tmp"
    tmp.write_text(f"{server.effective_port}\n")
    tmp.replace(port_file)
    print(f"listening on 127.0.0.1:{server.effective_port} with {threads} threads", flush=True)

    watch_pid = os.environ.get("TOKENTOP_OAUTH_WATCH_PID")
    if watch_pid:
        threading.Thread(target=watch, args=(int(watch_pid),), daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
