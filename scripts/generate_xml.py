#!/usr/bin/env python3
"""Regenerate xml/ from the feature table (`make xml`); with --check, only report drift."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from u3v_features.xmlgen import XML_FILE_NAME, build_xml, build_zip

XML_DIR = Path(__file__).resolve().parent.parent / "xml"


def generated_files() -> dict[Path, bytes]:
    xml = build_xml()
    return {XML_DIR / XML_FILE_NAME: xml,
            XML_DIR / XML_FILE_NAME.replace(".xml", ".zip"): build_zip(xml)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if xml/ is out of date")
    args = parser.parse_args()
    stale = [path for path, data in generated_files().items()
             if not path.exists() or path.read_bytes() != data]
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run make xml)", file=sys.stderr)
        return 1 if stale else 0
    XML_DIR.mkdir(exist_ok=True)
    for path, data in generated_files().items():
        path.write_bytes(data)
        print(f"wrote {path.relative_to(XML_DIR.parent)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
