"""What the peers' launchers share (lemonldap-ng/server.py, mod-auth-openidc/server.py)."""
import shutil
import signal
import threading


def ready(proc, marker, log):
    """Whether @proc said @marker on its stderr (text) before it ended: the server's own
    word that it accepts connections. Every line goes on to @log, the later ones from a
    thread, so that the pipe never fills."""
    for line in proc.stderr:
        log.write(line)
        if marker in line:
            threading.Thread(target=log.writelines, args=(proc.stderr,), daemon=True).start()
            return True
    return False


def serve(proc, announce, workdir):
    """Announce the server on stdout, forward SIGTERM and SIGINT to it (the tests stop a
    peer by its launcher's PID), wait for it, then remove its private directory."""
    stop = lambda *_: proc.terminate()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(announce, flush=True)
    proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)
