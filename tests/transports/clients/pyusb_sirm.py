"""pyusb: SIRM leader and trailer sizes that break the payload alignment are refused with
SI_PAYLOAD_SIZE_NOT_ALIGNED and change nothing; aligned ones are taken. JSON."""

import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pyusb_u3v import PyusbHost, find_camera  # noqa: E402

from u3v_features.bootstrap import SIRM  # noqa: E402

host = PyusbHost(find_camera())
report = {}
for name, offset in (("leader", SIRM.MAXIMUM_LEADER_SIZE), ("trailer", SIRM.MAXIMUM_TRAILER_SIZE),
                     ("transfer", SIRM.PAYLOAD_TRANSFER_SIZE)):
    answers = []
    for value in (64, 65, 33):
        try:
            host.write(SIRM.BASE + offset, struct.pack("<I", value))
            answers.append("ok")
        except IOError as error:
            answers.append(str(error).rsplit(" ", 1)[-1])
    answers.append(host.u32(SIRM.BASE + offset))
    report[name] = answers
print(json.dumps(report))
