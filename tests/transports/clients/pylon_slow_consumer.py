"""An application slower than the camera: pypylon free-running at the default ROI while the
application takes `seconds_per_frame` (argv[2]) over each frame, for argv[1] seconds. Prints
JSON: frames retrieved, and the block-id gaps pylon saw (frames lost on the way)."""

import json
import sys
import time

from pypylon import pylon

seconds, seconds_per_frame = float(sys.argv[1]), float(sys.argv[2])
camera = pylon.InstantCamera(pylon.TlFactory.GetInstance().CreateFirstDevice())
camera.Open()
camera.MaxNumBuffer.Value = 4
retrieved, gaps, last_block = 0, 0, None
camera.StartGrabbing()
end = time.monotonic() + seconds
try:
    while time.monotonic() < end:
        with camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException) as grab:
            if grab.GrabSucceeded():
                retrieved += 1
                if last_block is not None and grab.BlockID != last_block + 1:
                    gaps += 1
                last_block = grab.BlockID
        time.sleep(seconds_per_frame)   # the application's work on the frame
finally:
    camera.StopGrabbing()
    camera.Close()
print(json.dumps({"retrieved": retrieved, "gaps": gaps}))
