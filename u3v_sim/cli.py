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
@click.option("--serial", callback=_serial,
              help="The running camera's values (default: the first); without a daemon, a "
                   "camera as it boots.")
def features(category: str | None, serial: str | None) -> None:
    """List every feature with its type, access and current value: the running camera's
    when a daemon runs, else a camera's as it boots."""
    from .harness import HarnessError
    running = _harness(serial) if runtime_info() is not None else None
    camera = Camera() if running is None else None
    for f in table.FEATURES:
        if category and f.category != category:
            continue
        if f.data_port is not None or f.kind == "Command":
            value = ("(command)" if f.kind == "Command" else
                     "(chunk)" if f.chunk_id is not None else "(event)")
        elif running is None:
            value = camera.store.get(f.name)
        else:
            try:
                value = running.get(f.name)
            except HarnessError as error:
                if error.code not in ("invalid_argument", "refused"):
                    raise HarnessRefusal(error.code, error.message, error.status) from None
                value = "(not available)"   # (an output feature of an input line, ...)
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
    from .transports import PRELOAD_LIBRARY
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


def runtime_info() -> dict | None:
    """The running daemon's checked daemon.json (runtime.read_info), or None."""
    from . import runtime
    try:
        return runtime.read_info()
    except runtime.RuntimeDirError as error:
        raise click.ClickException(str(error)) from None


def _running_info() -> dict:
    from .harness.client import NO_DAEMON
    info = runtime_info()
    if info is None:
        raise click.ClickException(NO_DAEMON)
    return info


def _harness(serial: str | None = None):
    """The harness client of the running daemon (whose daemon.json passed the checks)."""
    from .harness import Harness
    _running_info()
    return Harness(serial=serial)


# A command whose arguments may be negative numbers (-10 is a value, not an option).
NUMBERS_MAY_BE_NEGATIVE = {"ignore_unknown_options": True}

# Exit status of a command the daemon did not carry out, by result code (a script tells a
# refused write from an unplugged camera without reading the message).
EXIT_CODES = {"no_daemon": 1, "invalid_argument": 2, "refused": 3, "unavailable": 4,
              "busy": 5, "no_such_camera": 6, "internal_error": 7}


class HarnessRefusal(click.ClickException):
    def __init__(self, code: str, message: str, status: str | None):
        shown = f"{code} {status}" if status else code
        super().__init__(f"[{shown}] {message}")
        self.exit_code = EXIT_CODES.get(code, 1)


def _call(method, *args, **kwargs):
    """A harness call; its refusal as one line on stderr, ``Error: [code STATUS] why``, and
    the exit status of its code (EXIT_CODES)."""
    from .harness import HarnessError
    try:
        return method(*args, **kwargs)
    except HarnessError as error:
        raise HarnessRefusal(error.code, error.message, error.status) from None


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
    reply = _call(_harness().status)
    if as_json:
        import json
        click.echo(json.dumps(reply, indent=2))
        return
    for cam in reply["cameras"]:
        state = ("re-enumerating" if cam["reenumerating"] else
                 "plugged" if cam["plugged"] else "unplugged")
        click.echo(f"{cam['serial']} {cam['devnode'] or '-'} {state}"
                   f" clients={cam['clients']} acquiring={cam['acquiring']} "
                   f"fps={cam['fps']} MB/s={cam['mb_per_s']} sent={cam['frames_sent']} "
                   f"dropped={cam['frames_dropped']} overtriggers={cam['overtriggers']} "
                   f"temperature={cam['temperature_c']}C ({cam['temperature_state']})")


@main.command()
@click.argument("action", type=click.Choice(["unplug", "replug"]))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def plug(action: str, serial: str | None) -> None:
    """Unplug or replug a camera (with uevents, as on a real bus)."""
    harness = _harness(serial)
    _call(harness.unplug if action == "unplug" else harness.replug)


@main.command(context_settings=NUMBERS_MAY_BE_NEGATIVE)
@click.argument("line")
@click.argument("value")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def line(line: str, value: str, serial: str | None) -> None:
    """Drive an input line: a level (0/1/high/low) or a voltage (e.g. 3.3V)."""
    import math
    level = voltage = None
    wrong = click.BadParameter(f"{value!r}: a level (0/1/high/low) or a voltage such as 3.3V",
                               param_hint="VALUE")
    if value.upper().endswith("V"):
        try:
            voltage = float(value[:-1])
        except ValueError:
            raise wrong from None
        if not math.isfinite(voltage):
            raise wrong
    elif value.lower() in ("1", "high", "on", "0", "low", "off"):
        level = value.lower() in ("1", "high", "on")
    else:
        raise wrong
    reply = _call(_harness(serial).drive_line, line, level=level, voltage=voltage)
    if reply.get("warning"):
        click.echo(f"warning: {reply['warning']}", err=True)


@main.command()
@click.argument("line")
@click.option("--width-us", type=click.FloatRange(min=0, min_open=True), required=True,
              help="How long each pulse lasts (µs).")
@click.option("--period-us", type=click.FloatRange(min=0, min_open=True), required=True,
              help="From one pulse's start to the next one's (µs).")
@click.option("--count", type=click.IntRange(1, 10_000_000), default=1, show_default=True)
@click.option("--delay-us", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="From now to the first pulse (µs).")
@click.option("--low", is_flag=True, help="Low pulses on a line resting high.")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def pulse(line: str, width_us: float, period_us: float, count: int, delay_us: float, low: bool,
          serial: str | None) -> None:
    """Drive a pulse train on an input LINE, each edge placed on the camera's clock; prints
    the device times (ns) of the first and last edge."""
    reply = _call(_harness(serial).pulse, line, width_us=width_us, period_us=period_us,
                  count=count, delay_us=delay_us, level=not low)
    click.echo(f"{reply['first_edge_ns']} {reply['last_edge_ns']}")


@main.group()
def feature() -> None:
    """Read or write a feature by name, as the host would (checked as a GenCP write)."""


@feature.command("get")
@click.argument("name")
@click.option("--selector", help="The selector entry to read (e.g. Line1 for LineStatus).")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def feature_get(name: str, selector: str | None, serial: str | None) -> None:
    """Print feature NAME's value."""
    click.echo(_format(_call(_harness(serial).get, name, selector)))


@feature.command("set", context_settings=NUMBERS_MAY_BE_NEGATIVE)
@click.argument("name")
@click.argument("value")
@click.option("--selector", help="The selector entry to write (e.g. Line3 for LineMode).")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def feature_set(name: str, value: str, selector: str | None, serial: str | None) -> None:
    """Write VALUE (as text: the camera reads it by the feature's type) to feature NAME; a
    refused write exits 3 with the reason and the GenCP status. Prints the value held."""
    click.echo(_format(_call(_harness(serial).set, name, value, selector)))


def _format(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@main.command()
@click.argument("name")
@click.option("--selector", help="The selector entry (e.g. FrameStart for TriggerSoftware).")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def execute(name: str, selector: str | None, serial: str | None) -> None:
    """Execute command feature NAME, as the host would."""
    _call(_harness(serial).execute, name, selector)


@main.command()
@click.option("--selector", default="FrameStart", show_default=True,
              help="The trigger (TriggerSelector entry).")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def trigger(selector: str, serial: str | None) -> None:
    """A software trigger (TriggerSoftware; the camera takes it in TriggerSource Software)."""
    _call(_harness(serial).trigger, selector)


@main.command()
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def reset(serial: str | None) -> None:
    """DeviceReset: the camera reboots and re-enumerates, as after the host's command."""
    _call(_harness(serial).reset)


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def image(path: Path | None, serial: str | None) -> None:
    """Show the camera PATH (an image file or a folder of them) from its next frame on;
    without PATH, the synthetic scene again."""
    click.echo(_call(_harness(serial).image, path)["source"])


@main.group()
def fault() -> None:
    """Inject, list and clear faults (as the camera or its cable would show them)."""


def _param(ctx, param, values) -> dict:
    out = {}
    for text in values:
        name, sep, value = text.partition("=")
        try:
            out[name] = float(value) if sep else None
        except ValueError:
            try:   # (hex, as GenCP statuses and addresses are written: status=0x8006)
                out[name] = float(int(value, 0))
            except ValueError:
                out[name] = None
        if out[name] is None:
            raise click.BadParameter(f"{text!r}: give NAME=NUMBER", ctx, param)
    return out


@fault.command("add")
@click.argument("kind")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Fire on every N-th opportunity (frame or command).")
@click.option("--probability", type=click.FloatRange(0, 1, min_open=True), default=1.0,
              show_default=True, help="Fire with this probability (seeded: reproducible).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Fire at most this many times.")
@click.option("--until-cleared", is_flag=True, help="No count: fire until cleared.")
@click.option("--start-ns", type=click.IntRange(min=0), default=0, help="Device-time window.")
@click.option("--end-ns", type=click.IntRange(min=0), default=None)
@click.option("--param", "params", multiple=True, callback=_param, metavar="NAME=NUMBER",
              help="A parameter of the kind (e.g. fraction=0.5, delay_ms=200).")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def fault_add(kind: str, every: int, probability: float, seed: int, count: int,
              until_cleared: bool, start_ns: int, end_ns: int | None, params: dict,
              serial: str | None) -> None:
    """Inject a fault of KIND (see `u3v-sim fault kinds`); prints its id."""
    if until_cleared and count != 1:
        raise click.UsageError("give --count N or --until-cleared, not both")
    click.echo(_call(_harness(serial).fault, kind, every=every, probability=probability,
                     seed=seed, start_ns=start_ns, end_ns=end_ns,
                     count=None if until_cleared else count, **params))


@fault.command("list")
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def fault_list(serial: str | None) -> None:
    """The active faults, as JSON lines (how often each had its chance and fired)."""
    import json
    for active in _call(_harness(serial).faults):
        click.echo(json.dumps(active))


@fault.command("clear")
@click.argument("fault_id", type=click.IntRange(min=1), required=False)
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def fault_clear(fault_id: int | None, serial: str | None) -> None:
    """Clear fault FAULT_ID, or every fault."""
    click.echo(_call(_harness(serial).clear_faults, fault_id))


@fault.command("kinds")
def fault_kinds() -> None:
    """What each kind of fault does and its parameters (with defaults)."""
    from .faults import KINDS
    for name, kind in KINDS.items():
        params = ", ".join(f"{p}={v.default:g} ({v.minimum:g}..{v.maximum:g})"
                           for p, v in kind.params.items())
        click.echo(f"{name:18} [{kind.where}] {kind.does}" + (f" ({params})" if params else ""))


@main.command()
@click.option("--serial", callback=_serial, help="Only this camera's (default: all).")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many.")
def events(serial: str | None, count: int | None) -> None:
    """Follow the observation stream: one JSON line per observation (line edges, device
    events, acquisition, frames sent and lost, feature writes, temperature, plug)."""
    import json
    from .harness import HarnessError
    try:
        for n, observation in enumerate(_harness(serial).subscribe(), 1):
            click.echo(json.dumps(observation))
            if count is not None and n >= count:
                return
        raise HarnessRefusal("no_daemon", "the daemon stopped", None)
    except HarnessError as error:
        raise HarnessRefusal(error.code, error.message, error.status) from None
    except KeyboardInterrupt:
        return
    except BrokenPipeError:   # (the reader stopped: `u3v-sim events | head`)
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _finite(ctx, param, value: float) -> float:
    import math
    if not math.isfinite(value):   # (click's FloatRange lets NaN through)
        raise click.BadParameter(f"{value}: a number of °C from -40 to 100", ctx, param)
    return value


@main.command(context_settings=NUMBERS_MAY_BE_NEGATIVE)
@click.argument("ambient_offset", type=click.FloatRange(-40, 100), callback=_finite)
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def temperature(ambient_offset: float, serial: str | None) -> None:
    """Warm (or cool) the camera's surroundings by AMBIENT_OFFSET °C; prints the camera's
    TemperatureState (Critical from 72 °C, Error from 80 °C)."""
    click.echo(_call(_harness(serial).temperature, ambient_offset))


@main.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--serial", callback=_serial, help="Which camera (default: the first).")
def snapshot(output: Path, serial: str | None) -> None:
    """Save a PNG of what the camera sees with its current settings.

    The daemon sends the PNG; this process writes it, with the caller's rights."""
    data = _call(_harness(serial).snapshot)
    try:
        output.write_bytes(data)
    except OSError as error:
        raise HarnessRefusal("invalid_argument", f"{output}: {error.strerror}", None) from None
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
