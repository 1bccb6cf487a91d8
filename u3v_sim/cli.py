"""The u3v-sim command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from u3v_features import acA4096_40um as table
from u3v_features.xmlgen import build_zip

from .camera.camera import Camera
from .names import check_serial
from .usb.descriptors import make_identity


def _serial(ctx: click.Context, param: click.Parameter, value):
    """--serial through names.check_serial (one or several values, or None)."""
    try:
        if isinstance(value, tuple):
            return tuple(check_serial(v) for v in value)
        return None if value is None else check_serial(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


@click.group()
@click.version_option(package_name="u3v-sim")
def main() -> None:
    """u3v-sim: a Basler acA4096-40um that camera software can't tell from the real device."""


@main.command()
@click.option("--serial", default="40000001", show_default=True, callback=_serial,
              help="Camera serial number.")
def info(serial: str) -> None:
    """Print the simulated camera's identity, register map and current image settings."""
    camera = Camera(serial=serial)
    usb = make_identity(serial)
    s = camera.store
    timing = camera.frame_timing()
    lines = [
        f"{s.get('DeviceVendorName')} {s.get('DeviceModelName')}  serial {serial}  "
        f"GUID {usb.guid}  USB {usb.vendor_id:04x}:{usb.product_id:04x}",
        f"GenICam file: {len(camera.xml)} bytes XML, {len(camera.genicam_zip)} bytes ZIP, "
        f"{len(table.FEATURES)} features in {len(table.CATEGORIES)} categories",
        "register map:",
        *(f"  0x{r.base:08X}-0x{r.end - 1:08X}  {r.name}" for r in camera.space.regions),
        f"image: {s.get('Width')}x{s.get('Height')} {s.get('PixelFormat')}, "
        f"PayloadSize {s.get('PayloadSize')} B, {timing.frame_rate:.2f} fps "
        f"(readout {timing.readout_us:.1f} us)",
    ]
    click.echo("\n".join(lines))


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--zip", "as_zip", is_flag=True, help="The ZIP the device's manifest serves.")
def xml(output: Path | None, as_zip: bool) -> None:
    """Print the camera's GenICam XML (or write it, or its ZIP, to a file)."""
    data = Camera().xml
    if as_zip:
        data = build_zip(data)
        if output is None:
            raise click.UsageError("--zip needs --output")
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@main.command()
@click.option("--category", help="Only this category.")
def features(category: str | None) -> None:
    """List every feature with its type, access and current value."""
    camera = Camera()
    for f in table.FEATURES:
        if category and f.category != category:
            continue
        if f.data_port is not None or f.kind == "Command":
            value = ("(command)" if f.kind == "Command" else
                     "(chunk)" if f.chunk_id is not None else "(event)")
        else:
            value = camera.store.get(f.name)
        click.echo(f"{f.category:24} {f.name:36} {f.kind:12} {f.access}  {value}")


def _configure_logging(level: str) -> None:
    import logging
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
# The file is checked by config.load (one clear line for a missing or unreadable file too).
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML file describing the cameras.")
@click.option("--serial", "serials", multiple=True, callback=_serial,
              help="Serve a camera with this serial (repeat for several); overrides the "
                   "config's cameras.")
@click.option("--stress", is_flag=True, help="Lift the sensor-readout and USB-link ceilings.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config_path: Path | None, serials: tuple[str, ...], stress: bool,
          log_level: str) -> None:
    """Serve the camera(s) until SIGINT/SIGTERM; unmodified libusb programs see them."""
    import asyncio
    import dataclasses
    import os

    from . import config as cfg
    from .transports.umockdev import PRELOAD_LIBRARY
    if os.environ.get("U3V_SIM_DAEMON") != "1":
        # Re-run with the environment the daemon needs: the umockdev preload (the testbed can
        # send uevents, for hot-plug, only from a preloaded process), no testbed of a previous
        # `eval $(u3v-sim env)`, and megabyte transfer buffers from the heap rather than from
        # fresh mmap()s page-faulted on every URB.
        env = {k: v for k, v in os.environ.items() if k != "UMOCKDEV_DIR"}
        env.update(U3V_SIM_DAEMON="1", LD_PRELOAD=PRELOAD_LIBRARY)
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(64 << 20))
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(256 << 20))
        os.execve(sys.executable, [sys.executable, "-m", "u3v_sim", *sys.argv[1:]], env)
    _configure_logging(log_level)
    try:
        config = cfg.load(config_path).with_serials(serials)
        if stress:
            config = dataclasses.replace(config, stress=True)
    except cfg.ConfigError as error:
        raise click.ClickException(str(error)) from None
    from . import runtime
    from .daemon import Daemon
    try:
        asyncio.run(Daemon(config).run())
    except (cfg.ConfigError, runtime.RuntimeDirError, runtime.DaemonRunning) as error:
        raise click.ClickException(str(error)) from None


NO_DAEMON = "no u3v-sim daemon runs (start one: u3v-sim serve)"
REQUEST_TIMEOUT_S = 60.0


def runtime_info() -> dict | None:
    """The running daemon's checked daemon.json (runtime.read_info), or None."""
    from . import runtime
    try:
        return runtime.read_info()
    except runtime.RuntimeDirError as error:
        raise click.ClickException(str(error)) from None


def _running_info() -> dict:
    info = runtime_info()
    if info is None:
        raise click.ClickException(NO_DAEMON)
    return info


def _request(request: dict) -> dict:
    import json
    import socket

    from . import runtime
    _running_info()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(REQUEST_TIMEOUT_S)
        try:
            sock.connect(str(runtime.socket_path()))
            try:
                sock.sendall(json.dumps(request).encode() + b"\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered without reading (busy, refused): the reply says why
            line = sock.makefile("rb").readline()
        except (FileNotFoundError, ConnectionRefusedError):
            raise click.ClickException(NO_DAEMON) from None
        except TimeoutError:
            raise click.ClickException(f"the daemon did not answer within "
                                       f"{REQUEST_TIMEOUT_S:g} s") from None
        except OSError as error:
            raise click.ClickException(f"control socket: {error}") from None
    try:
        reply = json.loads(line)
    except ValueError:
        raise click.ClickException("the daemon closed the connection without an answer "
                                   "(it may be stopping)") from None
    if "error" in reply:
        raise click.ClickException(reply["error"])
    return reply


@main.command()
def env() -> None:
    """Print the environment that makes programs see the cameras: eval $(u3v-sim env).

    Only from a daemon.json that passed runtime.read_info's checks, each value quoted for
    the shell."""
    import shlex
    info = _running_info()
    click.echo(f"export UMOCKDEV_DIR={shlex.quote(info['umockdev_dir'])} "
               f"LD_PRELOAD={shlex.quote(info['ld_preload'])}")


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Everything the daemon reports, as JSON (dropped frames by cause, transport "
                   "counters, trailer lateness).")
def status(as_json: bool) -> None:
    """Cameras, clients, frame rate, throughput and dropped frames of the running daemon."""
    reply = _request({"command": "status"})
    if as_json:
        import json
        click.echo(json.dumps(reply, indent=2))
        return
    for cam in reply["cameras"]:
        click.echo(f"{cam['serial']} {cam['devnode']} {'plugged' if cam['plugged'] else 'unplugged'}"
                   f" clients={cam['clients']} acquiring={cam['acquiring']} "
                   f"fps={cam['fps']} MB/s={cam['mb_per_s']} sent={cam['frames_sent']} "
                   f"dropped={cam['frames_dropped']} overtriggers={cam['overtriggers']}")


@main.command()
@click.argument("action", type=click.Choice(["unplug", "replug"]))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def plug(action: str, serial: str | None) -> None:
    """Unplug or replug a camera (with uevents, as on a real bus)."""
    _request({"command": action, "serial": serial})


@main.command()
@click.argument("line")
@click.argument("value")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def line(line: str, value: str, serial: str | None) -> None:
    """Drive an input line: a level (0/1/high/low) or a voltage (e.g. 3.3V)."""
    import math
    request = {"command": "line", "serial": serial, "line": line}
    wrong = click.BadParameter(f"{value!r}: a level (0/1/high/low) or a voltage such as 3.3V",
                               param_hint="VALUE")
    if value.upper().endswith("V"):
        try:
            request["voltage"] = float(value[:-1])
        except ValueError:
            raise wrong from None
        if not math.isfinite(request["voltage"]):
            raise wrong
    elif value.lower() in ("1", "high", "on", "0", "low", "off"):
        request["level"] = value.lower() in ("1", "high", "on")
    else:
        raise wrong
    reply = _request(request)
    if reply.get("warning"):
        click.echo(f"warning: {reply['warning']}", err=True)


@main.command()
@click.argument("ambient_offset", type=click.FloatRange(-40, 100))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def temperature(ambient_offset: float, serial: str | None) -> None:
    """Warm (or cool) the camera's surroundings by AMBIENT_OFFSET °C; prints the camera's
    TemperatureState (Critical from 72 °C, Error from 80 °C)."""
    reply = _request({"command": "temperature", "serial": serial,
                      "ambient_offset": ambient_offset})
    click.echo(reply["temperature_state"])


@main.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def snapshot(output: Path, serial: str | None) -> None:
    """Save a PNG of what the camera sees with its current settings.

    The daemon sends the PNG; this process writes it, with the caller's rights."""
    import base64
    import binascii
    reply = _request({"command": "snapshot", "serial": serial})
    try:
        data = base64.b64decode(reply["png"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise click.ClickException("the daemon's snapshot reply holds no PNG") from None
    try:
        output.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"{output}: {error.strerror}") from None
    click.echo(str(output))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--serial", "serials", multiple=True, callback=_serial,
              help="Camera serial(s) if a daemon starts.")
def run(command: tuple[str, ...], serials: tuple[str, ...]) -> None:
    """Run COMMAND with the camera(s) visible, starting a daemon if none runs.

    Exits as a shell would: COMMAND's status, 128+N if signal N killed it, 127 if it is not
    found, 126 if it cannot be executed. SIGINT, SIGTERM and SIGHUP are passed on to COMMAND;
    then the daemon this started stops and run exits 128+N."""
    from .run_command import run_command
    sys.exit(run_command(command, serials))
