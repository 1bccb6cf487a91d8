"""``u3v-sim run -- COMMAND``: a command with the cameras visible, as a shell would run it.

- If no daemon runs, one is started for the command's lifetime, in a session of its own: a
  terminal's Ctrl-C or ``timeout``'s signal to the process group reaches the command, and the
  daemon stays until the command has finished with the camera.
- SIGINT, SIGTERM and SIGHUP sent to ``run`` (``timeout N u3v-sim run ...`` in CI) are passed on
  to the command, unless the kernel sent them to the whole foreground process group (a
  terminal's Ctrl-C: si_code SI_KERNEL), which the command is part of. ``run`` then waits for
  the command (at most ``GRACE_S``, then SIGKILL), stops the daemon it started, and exits
  128 + the signal's number.
- Exit status as a shell's: the command's own; 128 + N when signal N killed it; 127 when it
  is not found, 126 when it cannot be executed (one error line, no traceback).

Signals are blocked and taken with ``sigtimedwait`` (which gives their origin); children get
the original signal mask back before exec.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import click

__all__ = ["FORWARDED", "GRACE_S", "run_command"]

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After a forwarded signal, how long the command may take to end before it is killed.
GRACE_S = 10.0
# How long a daemon started here may take to serve.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
SI_KERNEL = 0x80  # siginfo si_code: sent by the kernel (a terminal to its foreground group)
_WAITED = (*FORWARDED, signal.SIGCHLD)


class _Interrupted(Exception):
    def __init__(self, signum: int):
        self.signum = signum


def run_command(command: tuple[str, ...], serials: tuple[str, ...]) -> int:
    """Run ``command`` with the cameras visible; its exit status as described above. Raises
    click.ClickException (one line) if no daemon can be found or started."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)

    def restore_mask() -> None:  # (in the child, before exec)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    daemon = None
    try:
        try:
            info, daemon = _daemon(serials, restore_mask)
        except _Interrupted as interrupted:
            return 128 + interrupted.signum
        from .transports import PRELOAD_LIBRARY
        # Only umockdev's preload library, whatever daemon.json says.
        env = dict(os.environ, UMOCKDEV_DIR=info["umockdev_dir"], LD_PRELOAD=PRELOAD_LIBRARY)
        try:
            child = subprocess.Popen(list(command), env=env,
                                     preexec_fn=restore_mask)  # noqa: PLW1509 (no threads)
        except OSError as error:
            click.echo(f"Error: {command[0]}: {error.strerror}", err=True)
            return 127 if error.errno == errno.ENOENT else 126
        received = _wait(child)
        if received is not None:
            return 128 + received
        code = child.returncode
        return 128 - code if code < 0 else code
    finally:
        if daemon is not None:
            _stop(daemon)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _daemon(serials: tuple[str, ...], restore_mask) -> tuple[dict, subprocess.Popen | None]:
    """The running daemon's info, and the daemon process if this call started it. Raises
    _Interrupted for a signal while the daemon starts (a daemon started here is stopped
    first)."""
    from . import runtime
    from .cli import runtime_info
    info = runtime_info()
    if info is not None:
        return info, None
    args = [sys.executable, "-m", "u3v_sim", "serve", "--log-level", "warning"]
    for serial in serials:
        args += ["--serial", serial]
    started = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True,
                               preexec_fn=restore_mask)  # noqa: PLW1509 (no threads)
    process = started
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (info := runtime_info()) is None:
            if time.monotonic() > deadline:
                raise click.ClickException(f"the daemon did not start within "
                                           f"{START_TIMEOUT_S:g} s")
            if started is not None and started.poll() is not None:
                started = None  # it failed; wait only if another daemon is starting
                if runtime.lock_holder() is None:
                    raise click.ClickException("the daemon did not start")
            signaled = signal.sigtimedwait(_WAITED, 0.05)
            if signaled is not None and signaled.si_signo in FORWARDED:
                raise _Interrupted(signaled.si_signo)
    except BaseException:
        _stop(process)
        raise
    return info, started


def _wait(child: subprocess.Popen) -> int | None:
    """Wait for ``child``, passing on the signals ``run`` receives; the first one received,
    or None."""
    received = None
    deadline = float("inf")
    while child.poll() is None:
        now = time.monotonic()
        if now >= deadline:
            child.kill()  # it did not end after the signal: it must not outlive the camera
            deadline = float("inf")
            continue
        signaled = signal.sigtimedwait(_WAITED, min(1.0, deadline - now))
        if signaled is None or signaled.si_signo == signal.SIGCHLD:
            continue
        if received is None:
            received = signaled.si_signo
            deadline = time.monotonic() + GRACE_S
        if signaled.si_code != SI_KERNEL:  # (the terminal signalled the command already)
            try:
                child.send_signal(signaled.si_signo)
            except ProcessLookupError:
                pass
    return received


def _stop(daemon: subprocess.Popen) -> None:
    """Stop a daemon this run started (SIGTERM; SIGKILL if it does not end)."""
    if daemon.poll() is not None:
        return
    daemon.terminate()
    try:
        daemon.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
