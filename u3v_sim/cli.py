"""The u3v-sim command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from u3v_features import acA4096_40um as table
from u3v_features.xmlgen import build_zip

from .camera.camera import Camera
from .usb.descriptors import make_identity


@click.group()
@click.version_option(package_name="u3v-sim")
def main() -> None:
    """u3v-sim: a Basler acA4096-40um that camera software can't tell from the real device."""


@main.command()
@click.option("--serial", default="40000001", show_default=True, help="Camera serial number.")
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
        if f.chunk_id is not None or f.kind == "Command":
            value = "(chunk)" if f.chunk_id is not None else "(command)"
        else:
            value = camera.store.get(f.name)
        click.echo(f"{f.category:24} {f.name:36} {f.kind:12} {f.access}  {value}")
