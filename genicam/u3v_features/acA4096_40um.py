"""The Basler acA4096-40um feature table: every feature the simulated camera has.

Names, types and enum entries follow Basler's ace-USB feature set and SFNC 2.x
(../shared/reference/u3v-protocol.md section 6). Where no public source confirms a range or
default of the real camera, the value is chosen here and the feature's ``chosen`` text says so;
``CHOSEN_RANGES`` collects them for the issue notes.
"""

from __future__ import annotations

from .bootstrap import ABRM
from .model import (BOOLEAN, COMMAND, ENUMERATION, FLOAT, INTEGER, REGISTER, STRING, Category,
                    EnumEntry, Feature, entries, valued)

VENDOR = "Basler"
MODEL = "acA4096-40um"
# The XML's identity: Basler's ace USB XML names itself so, and pylon writes it into every
# persistence file's "# Device = Basler::UsbCameraParams -- ..." line (a real ace USB .pfs:
# trifinger_cameras config/pylon_camera_settings.txt), so files move between a real ace USB
# camera and this one. The version GUID is this XML's own (xmlgen.build_xml).
XML_MODEL_NAME = "UsbCameraParams"
XML_TOOL_TIP = "Basler USB3Vision camera interface"
XML_PRODUCT_GUID = "5a809e15-f447-480f-a21f-0fb7256b8400"
SENSOR_WIDTH = 4112
SENSOR_HEIGHT = 2176

# PFNC codes (PFNC 2.x; aravis arvenums.h, Basler PixelType).
PIXEL_FORMATS = valued(Mono8=0x01080001, Mono10=0x01100003, Mono10p=0x010A0046,
                       Mono12=0x01100005, Mono12p=0x010C0047)
# Bits per pixel on the wire and the pixel's dynamic range, by format.
PIXEL_BITS = {"Mono8": 8, "Mono10": 16, "Mono10p": 10, "Mono12": 16, "Mono12p": 12}
PIXEL_MAX = {"Mono8": 255, "Mono10": 1023, "Mono10p": 1023, "Mono12": 4095, "Mono12p": 4095}
PIXEL_SIZE = {"Mono8": "Bpp8", "Mono10": "Bpp16", "Mono10p": "Bpp10", "Mono12": "Bpp16",
              "Mono12p": "Bpp12"}

# GenICam event ids: sent in EVENT_CMD packets; the XML binds each to a Port with this EventID.
# The events are the ace USB EventSelector entries (pylon's parameter list); the ids are chosen.
EVENT_IDS = {"ExposureEnd": 0x9001, "FrameStart": 0x9002, "FrameBurstStart": 0x9003,
             "FrameStartOvertrigger": 0x9004, "CriticalTemperature": 0x9005,
             "OverTemperature": 0x9006, "FrameBurstStartOvertrigger": 0x9007,
             "FrameStartWait": 0x9008, "FrameBurstStartWait": 0x9009}
# Events whose data is the frame id (u64); the others carry only their timestamp (pylon's ace
# USB list has an Event...FrameID node for exactly these).
EVENTS_WITH_FRAME_ID = ("ExposureEnd", "FrameStart", "FrameBurstStart", "FrameStartOvertrigger",
                        "FrameBurstStartOvertrigger")
# Where a GenApi host finds an event's fields: offsets into the event as GenApi's U3V event
# adapter attaches it to the event's port, the SCD of an EVENT_CMD (u3v-protocol.md 4.6:
# u16 size, u16 id, u64 timestamp, data), checked against the official GenApi's adapter.
EVENT_ID_OFFSET, EVENT_TIMESTAMP_OFFSET, EVENT_DATA_OFFSET = 2, 4, 12
# Chunk ids and the bytes of chunk data each carries. Ids chosen.
CHUNKS = {"Timestamp": (0x0A5A0001, 8), "ExposureTime": (0x0A5A0002, 8),
          "Gain": (0x0A5A0003, 8), "LineStatusAll": (0x0A5A0004, 4),
          "CounterValue": (0x0A5A0005, 8), "SequencerSetActive": (0x0A5A0007, 4),
          "PayloadCRC16": (0x0A5A0006, 4)}
COUNTERS = ("Counter1", "Counter2")
CHUNK_TRAILER_BYTES = 8  # each chunk is followed by its u32 id and u32 length
IMAGE_CHUNK_ID = 0x0A5A0000

# Ranges that RemoveParameterLimit widens, shared by the features and their auto limits.
GAIN_MAX = "36.0 if RemoveParameterLimit['Gain'] else 24.0"
EXPOSURE_MIN = "4.0 if RemoveParameterLimit['ExposureTime'] else 16.0"
EXPOSURE_MAX = 10_000_000.0

LINES = ("Line1", "Line2", "Line3", "Line4")
OPTO_LINES = ("Line1", "Line2")
GPIO_LINES = ("Line3", "Line4")


def _image_bytes() -> str:
    bits = repr(PIXEL_BITS)
    return f"(Width * Height * {bits}[PixelFormat] + 7) // 8"


def _chunk_bytes() -> str:
    terms = " + ".join(
        f"{size + CHUNK_TRAILER_BYTES} * ChunkEnable[{name!r}]"
        for name, (_, size) in CHUNKS.items())
    return f"({CHUNK_TRAILER_BYTES} + {terms}) if ChunkModeActive else 0"


F = Feature
_features: list[Feature] = []
_categories: list[Category] = []


def category(name: str, description: str, *members: Feature | str) -> str:
    """Add a category of features; a member given as a string is a subcategory's name."""
    _categories.append(Category(name, description, tuple(
        m if isinstance(m, str) else m.name for m in members)))
    _features.extend(m for m in members if not isinstance(m, str))
    return name


def string(name, cat, desc, *, address=None, access="RO", default="", length=64, **kw):
    return F(name, STRING, cat, desc, access=access, address=address, default=default,
             length=length, **kw)


def integer(name, cat, desc, **kw):
    return F(name, INTEGER, cat, desc, **kw)


# ``decimals`` (a float's DisplayPrecision) as real ace USB saved files write the values: pylon
# writes and verifies settings as text, so a file saved by a real camera loads only if these
# match (Gain "0.00000", ExposureTime "1500.0", LineMinimumOutputPulseWidth "0.000").
def floating(name, cat, desc, **kw):
    return F(name, FLOAT, cat, desc, length=8, **kw)


def enum(name, cat, desc, entry_list, **kw):
    return F(name, ENUMERATION, cat, desc, entries=tuple(entry_list), **kw)


def boolean(name, cat, desc, **kw):
    kw.setdefault("default", False)
    return F(name, BOOLEAN, cat, desc, **kw)


def command(name, cat, desc, **kw):
    return F(name, COMMAND, cat, desc, access="RW", **kw)


DC = "DeviceControl"
category(
    DC, "Identity, version, temperature, link and reset of the device.",
    string("DeviceVendorName", DC, "Name of the device vendor.",
           address=ABRM.MANUFACTURER_NAME, default=VENDOR),
    string("DeviceModelName", DC, "Model name of the device.",
           address=ABRM.MODEL_NAME, default=MODEL),
    string("DeviceManufacturerInfo", DC, "Additional information from the vendor.",
           address=ABRM.MANUFACTURER_INFO, default="none",
           chosen="text chosen; the real camera's is not published"),
    string("DeviceVersion", DC, "Version of the device.", address=ABRM.DEVICE_VERSION,
           default="107388-14", chosen="text chosen; the real camera's is not published"),
    string("DeviceFirmwareVersion", DC, "Version of the firmware in the device.",
           default="V3.14.6-0 107388-14;U;acA4096_40u;V1.0-0;0",
           chosen="text chosen; the real camera's is not published"),
    string("DeviceSerialNumber", DC, "Serial number of the device.",
           address=ABRM.SERIAL_NUMBER, default="40000001",
           chosen="8-digit format chosen; each simulated camera sets its own"),
    # Not saved by persistence: settings loaded onto another camera must not rename it.
    string("DeviceUserID", DC, "User-defined name of the device.",
           address=ABRM.USER_DEFINED_NAME, access="RW", default="", persisted=False),
    integer("DeviceSFNCVersionMajor", DC, "Major version of the SFNC the device complies with.",
            access="RO", default=2),
    integer("DeviceSFNCVersionMinor", DC, "Minor version of the SFNC.", access="RO", default=1,
            chosen="SFNC 2.1.0 assumed"),
    integer("DeviceSFNCVersionSubMinor", DC, "Sub-minor version of the SFNC.", access="RO",
            default=0),
    enum("DeviceScanType", DC, "Scan type of the sensor.", entries("Areascan"), access="RO",
         default="Areascan"),
    enum("DeviceTemperatureSelector", DC, "Which temperature DeviceTemperature reports.",
         entries("Coreboard", "Sensorboard"), default="Coreboard", visibility="Expert"),
    floating("DeviceTemperature", DC, "Temperature at the selected location.", access="RO",
             provided=True, unit="C", selected_by="DeviceTemperatureSelector",
             visibility="Expert"),
    enum("TemperatureState", DC, "Temperature state of the device.",
         entries("Ok", "Critical", "Error"), access="RO", provided=True),
    command("DeviceReset", DC, "Resets the device; it re-enumerates as after power-up."),
    integer("DeviceLinkSelector", DC, "Which link the DeviceLink features control.",
            default=0, minimum=0, maximum=0),
    integer("DeviceLinkSpeed", DC, "Speed of the link in bytes per second.", access="RO",
            length=8, provided=True, unit="Bps", selected_by="DeviceLinkSelector",
            visibility="Expert"),
    # USB 2.0 High Speed carries 480 Mbit/s (60 MB/s); anything faster is SuperSpeed.
    enum("BslUSBSpeedMode", DC, "USB speed the camera's link runs at.",
         entries("LowSpeed", "FullSpeed", "HighSpeed", "SuperSpeed"), access="RO",
         formula="'SuperSpeed' if DeviceLinkSpeed[0] > 60_000_000 else 'HighSpeed'"),
    enum("DeviceLinkThroughputLimitMode", DC,
         "Whether the link bandwidth is limited to DeviceLinkThroughputLimit.",
         valued(Off=0, On=1), default="Off", selected_by="DeviceLinkSelector",
         locked="AcquisitionActive",
         chosen="default Off: real ace USB saved files show On at 360 MB/s, but that caps "
                "the default 4096x2168 Mono8 ROI (8.9 MB a frame) at 40.5 fps, and the "
                "datasheet rates this model at 42.7 fps at default settings (379 MB/s); the "
                "datasheet decides"),
    integer("DeviceLinkThroughputLimit", DC, "Bandwidth limit of the link in bytes per second.",
            default=360_000_000, minimum=8_000_000, maximum=500_000_000, increment=1,
            unit="Bps", selected_by="DeviceLinkSelector",
            locked="DeviceLinkThroughputLimitMode == 'Off' or AcquisitionActive",
            chosen="default 360 MB/s as real ace USB saved files show; range 8-500 MB/s "
                   "chosen"),
    integer("DeviceLinkCurrentThroughput", DC, "Bandwidth the current settings need.",
            access="RO", provided=True, unit="Bps", selected_by="DeviceLinkSelector",
            visibility="Expert"),
    command("TimestampLatch", DC, "Latches the device clock into TimestampLatchValue.",
            visibility="Expert"),
    integer("TimestampLatchValue", DC, "Device clock (ns) at the last TimestampLatch.",
            access="RO", address=ABRM.TIMESTAMP, length=8, provided=True, unit="ns",
            visibility="Expert"),
)

# Features that define the payload or the stream are locked while the camera acquires (the
# ace XML gives PixelFormat a pIsLocked; Basler's ROI and user set documentation require an
# idle camera): GenApi sees them not writable, a register write gets ACCESS_DENIED.
WHILE_ACQUIRING = "AcquisitionActive"

IF = "ImageFormatControl"
category(
    IF, "Sensor geometry, region of interest, binning, pixel format and test images.",
    integer("SensorWidth", IF, "Width of the sensor in pixels.", access="RO",
            default=SENSOR_WIDTH),
    integer("SensorHeight", IF, "Height of the sensor in pixels.", access="RO",
            default=SENSOR_HEIGHT),
    integer("WidthMax", IF, "Largest Width for the current offset and binning.", access="RO",
            formula="SensorWidth // BinningHorizontal - OffsetX"),
    integer("HeightMax", IF, "Largest Height for the current offset and binning.", access="RO",
            formula="SensorHeight // BinningVertical - OffsetY"),
    integer("Width", IF, "Width of the image in pixels.", default=4096, minimum=16,
            maximum="WidthMax", increment=8, unit="px", locked=WHILE_ACQUIRING,
            chosen="minimum 16 and increment 8 chosen: with Height's increment 2, every "
                   "ROI's image in every pixel format is a multiple of the 4-byte payload "
                   "alignment, which hosts program as the payload transfer size (Aravis "
                   "0.8.26 gets no frame from a Mono10p 20x6 ROI of 150 bytes)"),
    integer("Height", IF, "Height of the image in pixels.", default=2168, minimum=2,
            maximum="HeightMax", increment=2, unit="px", locked=WHILE_ACQUIRING,
            chosen="minimum 2 and increment 2 chosen"),
    integer("OffsetX", IF, "Horizontal offset of the region of interest.", default=8,
            minimum=0, maximum="SensorWidth // BinningHorizontal - Width", increment=4,
            unit="px", locked="CenterX or AcquisitionActive",
            forced=("CenterX", "(SensorWidth // BinningHorizontal - Width) // 8 * 4"),
            chosen="default 8 (centred default ROI) and increment 4 chosen"),
    integer("OffsetY", IF, "Vertical offset of the region of interest.", default=4,
            minimum=0, maximum="SensorHeight // BinningVertical - Height", increment=2,
            unit="px", locked="CenterY or AcquisitionActive",
            forced=("CenterY", "(SensorHeight // BinningVertical - Height) // 4 * 2"),
            chosen="default 4 (centred default ROI) and increment 2 chosen"),
    boolean("CenterX", IF, "Centres the region of interest horizontally.",
            locked=WHILE_ACQUIRING),
    boolean("CenterY", IF, "Centres the region of interest vertically.",
            locked=WHILE_ACQUIRING),
    integer("BinningHorizontal", IF, "Number of sensor columns combined into one pixel.",
            default=1, minimum=1, maximum=4, locked=WHILE_ACQUIRING, chosen="range 1-4 chosen"),
    enum("BinningHorizontalMode", IF, "How binned columns are combined.",
         entries("Sum", "Average"), default="Sum", locked=WHILE_ACQUIRING),
    integer("BinningVertical", IF, "Number of sensor rows combined into one pixel.",
            default=1, minimum=1, maximum=4, locked=WHILE_ACQUIRING, chosen="range 1-4 chosen"),
    enum("BinningVerticalMode", IF, "How binned rows are combined.",
         entries("Sum", "Average"), default="Sum", locked=WHILE_ACQUIRING),
    boolean("ReverseX", IF, "Mirrors the image horizontally.", locked=WHILE_ACQUIRING),
    boolean("ReverseY", IF, "Mirrors the image vertically.", locked=WHILE_ACQUIRING),
    enum("PixelFormat", IF, "Format of the pixels delivered by the camera.", PIXEL_FORMATS,
         default="Mono8", locked=WHILE_ACQUIRING),
    enum("PixelSize", IF, "Bits per pixel of the current pixel format.",
         valued(Bpp8=8, Bpp10=10, Bpp12=12, Bpp16=16), access="RO",
         formula=f"{PIXEL_SIZE!r}[PixelFormat]"),
    integer("PixelDynamicRangeMin", IF, "Smallest pixel value.", access="RO", default=0),
    integer("PixelDynamicRangeMax", IF, "Largest pixel value.", access="RO",
            formula=f"{PIXEL_MAX!r}[PixelFormat]"),
    enum("PixelColorFilter", IF, "Colour filter of the sensor's pixels (None: mono).",
         entries("None"), access="RO", default="None"),
    enum("TestImageSelector", IF, "Selects a test image instead of the sensor image.",
         entries("Off", "Testimage1", "Testimage2", "Testimage3", "Testimage4", "Testimage5",
                 "Testimage6"), default="Off"),
    boolean("TestImageResetAndHold", IF, "Holds the moving test images at their starting "
            "position; they move on from there when released."),
)

AN = "AnalogControl"
category(
    AN, "Gain, black level, gamma and digital shift.",
    # (first: the ranges of Gain, BlackLevel and ExposureTime depend on them, and persistence
    # files restore features in this order)
    # Basler: removes the factory limits of the selected parameter, widening its range to
    # what the sensor takes (image quality is no longer guaranteed there).
    enum("RemoveParameterLimitSelector", AN, "Which parameter RemoveParameterLimit frees.",
         entries("Gain", "ExposureTime", "BlackLevel", "AutoTargetValue"), default="Gain",
         visibility="Guru"),
    boolean("RemoveParameterLimit", AN, "Removes the factory limits of the selected "
            "parameter.", selected_by="RemoveParameterLimitSelector", visibility="Guru"),
    # (GainAuto before Gain: a saved Off must be restored before the Gain it unlocks)
    enum("GainAuto", AN, "Automatic gain control (Once: back to Off when the target is "
         "reached, after at most 30 frames).", entries("Off", "Once", "Continuous"),
         default="Off", locked="SequencerMode == 'On'", volatile=True),
    enum("GainSelector", AN, "Which gain Gain controls.", entries("All"), default="All"),
    floating("Gain", AN, "Gain in dB.", default=0.0, minimum=0.0, maximum=GAIN_MAX, unit="dB",
             selected_by="GainSelector",
             locked="GainAuto != 'Off' or SequencerMode == 'On'", volatile=True,
             chosen="range 0-24 dB (0-36 dB with RemoveParameterLimit) chosen", decimals=5),
    enum("BlackLevelSelector", AN, "Which black level BlackLevel controls.", entries("All"),
         default="All"),
    floating("BlackLevel", AN, "Black level offset in 12-bit digital numbers.", default=0.0,
             minimum=0.0, maximum="127.9375 if RemoveParameterLimit['BlackLevel'] else 31.9375",
             unit="DN", selected_by="BlackLevelSelector",
             chosen="range 0-31.9375 DN (0-127.9375 with RemoveParameterLimit) chosen", decimals=5),
    floating("Gamma", AN, "Gamma correction exponent.", default=1.0, minimum=0.0,
             maximum=3.99998, chosen="range 0-3.99998 chosen", decimals=5),
    integer("DigitalShift", AN, "Shifts the pixel values left by this many bits.", default=0,
            minimum=0, maximum=4, chosen="range 0-4 chosen"),
)

TRIGGERS = ("FrameBurstStart", "FrameStart")
AC = "AcquisitionControl"
category(
    AC, "Acquisition mode, start and stop, frame rate, triggers and exposure.",
    enum("AcquisitionMode", AC, "Single frame or continuous acquisition.",
         entries("SingleFrame", "Continuous"), default="Continuous"),
    command("AcquisitionStart", AC, "Starts the acquisition."),
    command("AcquisitionStop", AC, "Stops the acquisition."),
    integer("AcquisitionBurstFrameCount", AC, "Frames acquired per FrameBurstStart trigger.",
            default=1, minimum=1, maximum=255, chosen="range 1-255 chosen"),
    boolean("AcquisitionFrameRateEnable", AC, "Limits the frame rate to AcquisitionFrameRate."),
    floating("AcquisitionFrameRate", AC, "Upper limit of the frame rate when enabled.",
             default=100.0, minimum=0.1, maximum=1000.0, unit="Hz",
             chosen="range 0.1-1000 Hz and default 100 Hz chosen", decimals=5),
    floating("ResultingFrameRate", AC, "Frame rate the camera reaches with current settings.",
             access="RO", provided=True, unit="Hz"),
    floating("SensorReadoutTime", AC, "Time to read the current ROI out of the sensor.",
             access="RO", provided=True, unit="us"),
    enum("AcquisitionStatusSelector", AC, "Which acquisition status AcquisitionStatus reports.",
         entries("FrameBurstTriggerWait", "FrameBurstTriggerActive",
                 "FrameBurstTriggerTransfer", "FrameTriggerWait", "FrameActive",
                 "FrameTransfer", "ExposureActive"), default="FrameTriggerWait",
         visibility="Expert"),
    boolean("AcquisitionStatus", AC, "State of the selected acquisition status.",
            access="RO", provided=True, default=None, selected_by="AcquisitionStatusSelector",
            visibility="Expert"),
    boolean("AcquisitionIdle", AC, "Whether the camera is idle: not acquiring.",
            access="RO", default=None, formula="not AcquisitionActive"),
    boolean("AcquisitionActive", AC, "Whether the camera acquires (between AcquisitionStart "
            "and AcquisitionStop); the features that define the payload are locked meanwhile.",
            access="RO", provided=True, default=None, visibility="Invisible"),
    enum("TriggerSelector", AC, "Which trigger the trigger features configure.",
         entries(*TRIGGERS), default="FrameStart"),
    enum("TriggerMode", AC, "Whether the selected trigger is active.", entries("Off", "On"),
         default="Off", selected_by="TriggerSelector"),
    command("TriggerSoftware", AC, "Generates a software trigger signal.",
            selected_by="TriggerSelector"),
    enum("TriggerSource", AC, "Source of the selected trigger.",
         valued(Software=0, Line1=1, Line3=3, Line4=4, SoftwareSignal1=10,
                SoftwareSignal2=11, SoftwareSignal3=12),
         default="Line1", selected_by="TriggerSelector"),
    enum("TriggerActivation", AC, "Signal transition or level that activates the trigger.",
         entries("RisingEdge", "FallingEdge", "AnyEdge", "LevelHigh", "LevelLow"),
         default="RisingEdge", selected_by="TriggerSelector"),
    floating("TriggerDelay", AC, "Delay between the trigger and its effect.", default=0.0,
             minimum=0.0, maximum=1_000_000.0, unit="us", selected_by="TriggerSelector",
             chosen="range 0-1 s chosen"),
    enum("ShutterMode", AC, "Shutter mode of the sensor (the IMX255 has a global shutter).",
         entries("Global"), default="Global"),
    enum("ExposureMode", AC, "How the exposure time is determined.",
         valued(Timed=1, TriggerWidth=2), default="Timed"),
    enum("ExposureAuto", AC, "Automatic exposure control (Once: back to Off when the target "
         "is reached, after at most 30 frames).", entries("Off", "Once", "Continuous"),
         default="Off", available="ExposureMode == 'Timed'", locked="SequencerMode == 'On'",
         volatile=True),
    floating("ExposureTime", AC, "Exposure time in microseconds.", default=5000.0,
             minimum=EXPOSURE_MIN, maximum=EXPOSURE_MAX, unit="us",
             available="ExposureMode == 'Timed'",
             locked="ExposureAuto != 'Off' or SequencerMode == 'On'", volatile=True,
             chosen="range 16 us - 10 s (from 4 us with RemoveParameterLimit) and default "
                    "5 ms chosen", decimals=1),
)

AF = "AutoFunctionControl"
AF_ROI = "AutoFunctionROIControl"
AUTO_ROIS = ("ROI1", "ROI2")
category(
    AF, "Target and limits of the auto functions (ExposureAuto, GainAuto).",
    floating("AutoTargetBrightness", AF, "Average gray value the auto functions aim for, as a "
             "fraction of the pixel format's full scale.", default=0.50196,
             minimum="0.0 if RemoveParameterLimit['AutoTargetValue'] else 0.19608",
             maximum="1.0 if RemoveParameterLimit['AutoTargetValue'] else 0.80392",
             chosen="default 0.50196 (128/255) as real ace USB saved files show; range "
                    "50/255-205/255 chosen", decimals=5),
    enum("AutoFunctionProfile", AF, "How ExposureAuto and GainAuto share the work when both "
         "run: keep the gain or the exposure time low (Quick: in fewer frames).",
         entries("MinimizeGain", "MinimizeExposureTime", "MinimizeGainQuick",
                 "MinimizeExposureTimeQuick"), default="MinimizeGain"),
    floating("AutoGainLowerLimit", AF, "Lowest gain GainAuto sets.", default=0.0,
             minimum=0.0, maximum="AutoGainUpperLimit", unit="dB", decimals=5),
    floating("AutoGainUpperLimit", AF, "Highest gain GainAuto sets.", default=24.0,
             minimum="AutoGainLowerLimit", maximum=GAIN_MAX, unit="dB", decimals=5),
    floating("AutoExposureTimeLowerLimit", AF, "Shortest exposure time ExposureAuto sets.",
             default=50.0, minimum=EXPOSURE_MIN, maximum="AutoExposureTimeUpperLimit",
             unit="us", chosen="default 50 us as real ace USB saved files show", decimals=1),
    floating("AutoExposureTimeUpperLimit", AF, "Longest exposure time ExposureAuto sets.",
             default=500_000.0, minimum="AutoExposureTimeLowerLimit", maximum=EXPOSURE_MAX,
             unit="us", chosen="default 500 ms as real ace USB saved files show", decimals=1),
    AF_ROI,
)
# The auto-function ROIs are placed like the image ROI (binned sensor coordinates, the same
# increments); the auto functions use their overlap with the image ROI. By default both
# cover the default image ROI; ROI1 serves brightness (ExposureAuto, GainAuto).
category(
    AF_ROI, "The regions the auto functions measure.",
    enum("AutoFunctionROISelector", AF_ROI, "Which auto-function ROI the ROI features set.",
         entries(*AUTO_ROIS), default="ROI1"),
    integer("AutoFunctionROIWidth", AF_ROI, "Width of the selected auto-function ROI.",
            default=4096, minimum=16, maximum="SensorWidth // BinningHorizontal - "
            "AutoFunctionROIOffsetX", increment=8, unit="px",
            selected_by="AutoFunctionROISelector"),
    integer("AutoFunctionROIHeight", AF_ROI, "Height of the selected auto-function ROI.",
            default=2168, minimum=2, maximum="SensorHeight // BinningVertical - "
            "AutoFunctionROIOffsetY", increment=2, unit="px",
            selected_by="AutoFunctionROISelector"),
    integer("AutoFunctionROIOffsetX", AF_ROI, "Horizontal offset of the selected "
            "auto-function ROI.", default=8, minimum=0, maximum="SensorWidth // "
            "BinningHorizontal - AutoFunctionROIWidth", increment=4, unit="px",
            selected_by="AutoFunctionROISelector"),
    integer("AutoFunctionROIOffsetY", AF_ROI, "Vertical offset of the selected "
            "auto-function ROI.", default=4, minimum=0, maximum="SensorHeight // "
            "BinningVertical - AutoFunctionROIHeight", increment=2, unit="px",
            selected_by="AutoFunctionROISelector"),
    boolean("AutoFunctionROIUseBrightness", AF_ROI, "ExposureAuto and GainAuto measure the "
            "selected ROI.", selected_by="AutoFunctionROISelector",
            default={"ROI1": True, "ROI2": False}),
    boolean("AutoFunctionROIUseWhiteBalance", AF_ROI, "White balance measures the selected "
            "ROI (no effect on a mono camera).", selected_by="AutoFunctionROISelector",
            default={"ROI1": False, "ROI2": True}),
)

# The luminance lookup table (Basler's ace USB manual, "Luminance Lookup Table"): 12-bit in,
# 12-bit out; only every 8th input has an entry (LUTIndex steps by 8), the camera interpolates
# between them; LUTValueAll is the whole table as 4,096 little-endian 32-bit words, the unused
# ones 0 (as real saved files hold it). Basler: on ace U/L the LUT is not in user sets.
LUT = "LUTControl"
LUT_ENTRIES = 4096
LUT_STEP = 8
category(
    LUT, "The luminance lookup table applied to the pixels.",
    enum("LUTSelector", LUT, "Which lookup table the LUT features configure.",
         entries("Luminance"), default="Luminance"),
    boolean("LUTEnable", LUT, "Applies the selected lookup table to the pixels.",
            selected_by="LUTSelector"),
    integer("LUTIndex", LUT, "Input value (12-bit) whose output LUTValue sets.", default=0,
            minimum=0, maximum=LUT_ENTRIES - LUT_STEP, increment=LUT_STEP),
    integer("LUTValue", LUT, "Output value (12-bit) at the input LUTIndex.", minimum=0,
            maximum=LUT_ENTRIES - 1, selected_by="LUTIndex", persisted=False,
            default={i: i for i in range(0, LUT_ENTRIES, LUT_STEP)}),
    F("LUTValueAll", REGISTER, LUT, "The whole table: 4,096 little-endian 32-bit words, "
      "input order (the words between LUTIndex's steps are unused and read 0).",
      length=4 * LUT_ENTRIES, provided=True, selected_by="LUTSelector"),
)

# The sequencer (Basler, "Sequencer (ace Classic/U/L USB)"): 32 sets of settings; while
# SequencerMode is On each frame takes the active set's settings, and each set's two paths say
# which set comes next when their trigger has happened since the previous frame start (path 0
# first). Sets are configured in SequencerConfigurationMode, with SequencerSetSave/Load.
SQ = "SequencerControl"
SEQUENCER_SETS = 32
SEQUENCER_PATHS = 2
SEQUENCER_TRIGGER_SOURCES = ("Line1", "Line3", "Line4", "FrameStart", "FrameEnd",
                             "Counter1End", "Counter2End", "SoftwareSignal1",
                             "SoftwareSignal2", "SoftwareSignal3")
# The set commands work in configuration mode; the sets' contents cannot change while the
# sequencer runs (pylon saves and restores the paths with configuration mode off).
CONFIGURING = "SequencerConfigurationMode == 'Off'"
RUNNING = "SequencerMode == 'On'"
category(
    SQ, "Sets of settings the camera steps through, frame by frame.",
    enum("SequencerMode", SQ, "Runs the sequencer: each frame takes the active set's settings "
         "(the auto functions must be off).", entries("Off", "On"), default="Off",
         locked="SequencerConfigurationMode == 'On' or ExposureAuto != 'Off' or "
                "GainAuto != 'Off'", visibility="Expert", volatile=True),
    enum("SequencerConfigurationMode", SQ, "Lets the sets be configured (sequencer off).",
         entries("Off", "On"), default="Off", locked="SequencerMode == 'On'",
         visibility="Expert"),
    integer("SequencerSetSelector", SQ, "Which set SequencerSetSave and SequencerSetLoad use.",
            default=0, minimum=0, maximum=SEQUENCER_SETS - 1, visibility="Expert"),
    command("SequencerSetSave", SQ, "Saves the sequencer settings into the selected set.",
            selected_by="SequencerSetSelector", locked=CONFIGURING, visibility="Expert"),
    command("SequencerSetLoad", SQ, "Loads the selected set's settings.",
            selected_by="SequencerSetSelector", locked=CONFIGURING, visibility="Expert"),
    integer("SequencerSetStart", SQ, "The set the sequence starts with (ace USB: 0).",
            default=0, minimum=0, maximum=0, locked=RUNNING, visibility="Expert"),
    integer("SequencerSetActive", SQ, "The set the camera takes frames with now.",
            access="RO", provided=True, visibility="Expert"),
    integer("SequencerPathSelector", SQ, "Which path of the set the path features configure.",
            default=0, minimum=0, maximum=SEQUENCER_PATHS - 1, visibility="Expert"),
    integer("SequencerSetNext", SQ, "The set this path leads to.", minimum=0,
            maximum=SEQUENCER_SETS - 1, selected_by="SequencerPathSelector",
            default={0: 0, 1: 1}, locked=RUNNING, visibility="Expert",
            chosen="defaults: path 0 back to set 0, path 1 on to the next set (set J saves "
                   "J + 1, the last 0, as Basler describes the paths)"),
    enum("SequencerTriggerSource", SQ, "The signal that takes this path.",
         entries(*SEQUENCER_TRIGGER_SOURCES), selected_by="SequencerPathSelector",
         default={0: "SoftwareSignal1", 1: "FrameStart"}, locked=RUNNING,
         visibility="Expert",
         chosen="defaults chosen: path 1 steps every frame, path 0 resets on a software "
                "signal"),
    enum("SequencerTriggerActivation", SQ, "Which part of the signal takes this path.",
         entries("RisingEdge", "FallingEdge", "AnyEdge", "LevelHigh", "LevelLow"),
         selected_by="SequencerPathSelector", default="LevelHigh", locked=RUNNING,
         visibility="Expert"),
)
# What a sequencer set holds (chosen from the settings Basler lists for ace USB sets: those
# that leave the payload alone) and the set's paths.
SEQUENCER_SET_FEATURES = ("ExposureTime", "Gain", "BlackLevel", "Gamma", "DigitalShift",
                          "TimerDelay", "TimerDuration", "LUTEnable", "TestImageSelector",
                          "SequencerSetNext", "SequencerTriggerSource",
                          "SequencerTriggerActivation")

LINE_SOURCES = ("Off", "ExposureActive", "FrameTriggerWait", "FrameBurstTriggerWait",
                "Timer1Active", "UserOutput0", "UserOutput1", "UserOutput2", "UserOutput3",
                "FlashWindow")
USER_OUTPUTS = ("UserOutput0", "UserOutput1", "UserOutput2", "UserOutput3")
IO = "DigitalIOControl"
category(
    IO, "Input and output lines, user outputs and software signals.",
    enum("LineSelector", IO, "Which line the line features configure.", entries(*LINES),
         default="Line1"),
    # Writable on every line, as real saved files write it for Line1 and Line2 too; the
    # opto-coupled lines offer only the mode their hardware has.
    enum("LineMode", IO, "Whether the selected line is an input or an output.",
         (EnumEntry("Input", 0, available="LineSelector != 'Line2'"),
          EnumEntry("Output", 1, available="LineSelector != 'Line1'")),
         selected_by="LineSelector",
         default={"Line1": "Input", "Line2": "Output", "Line3": "Input", "Line4": "Input"}),
    enum("LineFormat", IO, "Electrical format of the selected line.",
         valued(NoConnect=0, TriState=1, TTL=2, LVDS=3, RS422=4, OptoCoupled=5),
         access="RO", selected_by="LineSelector",
         formula=f"'OptoCoupled' if LineSelector in {OPTO_LINES!r} else 'TTL'",
         chosen="TTL for the GPIO lines chosen from the ace USB entries (no LVTTL there)"),
    enum("LineLogic", IO, "Logic of the selected line's electrical signal.",
         entries("Positive", "Negative"), access="RO", selected_by="LineSelector",
         formula="'Positive'",
         chosen="Positive (a high voltage is logical 1) on every line chosen"),
    enum("LineSource", IO, "Signal driving the selected output line.", entries(*LINE_SOURCES),
         selected_by="LineSelector", available="LineMode == 'Output'",
         default={"Line1": "Off", "Line2": "UserOutput1", "Line3": "Off", "Line4": "Off"},
         chosen="Line2's UserOutput1 as real ace USB saved files show; the others chosen"),
    boolean("LineInverter", IO, "Inverts the signal of the selected line.",
            selected_by="LineSelector"),
    boolean("LineStatus", IO, "Current logical state of the selected line.", access="RO",
            provided=True, default=None, selected_by="LineSelector"),
    integer("LineStatusAll", IO, "States of all lines, bit n-1 for Line n.", access="RO",
            provided=True, representation="HexNumber"),
    floating("LineDebouncerTime", IO, "Minimum time an input level must stay stable.",
             default=0.0, minimum=0.0, maximum=20_000.0, unit="us",
             selected_by="LineSelector", available="LineMode == 'Input'",
             chosen="range 0-20 ms chosen", decimals=5),
    floating("LineMinimumOutputPulseWidth", IO, "Shortest pulse the output line produces.",
             default=0.0, minimum=0.0, maximum=100_000.0, unit="us",
             selected_by="LineSelector", available="LineMode == 'Output'",
             chosen="range 0-100 ms chosen", decimals=3),
    boolean("LineOverloadStatus", IO, "Whether the selected GPIO line is overloaded.",
            access="RO", provided=True, default=None, selected_by="LineSelector",
            available=f"LineSelector in {GPIO_LINES!r}"),
    command("LineOverloadReset", IO, "Switches the selected GPIO output on again after its "
            "overload protection switched it off.", selected_by="LineSelector",
            available=f"LineSelector in {GPIO_LINES!r}"),
    enum("UserOutputSelector", IO, "Which user output UserOutputValue sets.",
         entries(*USER_OUTPUTS), default="UserOutput1"),
    # Real saved files keep the outputs as UserOutputValueAll only.
    boolean("UserOutputValue", IO, "Value of the selected user output.",
            selected_by="UserOutputSelector", persisted=False),
    integer("UserOutputValueAll", IO, "Values of all user outputs, bit n for UserOutputn.",
            default=0, minimum=0, maximum=15, volatile=True),
    enum("SoftwareSignalSelector", IO, "Which software signal SoftwareSignalPulse generates.",
         entries("SoftwareSignal1", "SoftwareSignal2", "SoftwareSignal3"),
         default="SoftwareSignal1"),
    command("SoftwareSignalPulse", IO, "Generates a pulse of the selected software signal.",
            selected_by="SoftwareSignalSelector"),
)

COUNTER_SOURCES = ("FrameTrigger", "FrameStart", "Counter1End", "Counter2End")
CT = "CounterAndTimerControl"
category(
    CT, "Counters and the timer.",
    enum("CounterSelector", CT, "Which counter the counter features configure.",
         entries(*COUNTERS), default="Counter1"),
    enum("CounterEventSource", CT, "Signal the selected counter counts.",
         entries(*COUNTER_SOURCES), selected_by="CounterSelector",
         default="FrameStart", chosen="FrameStart for both, as real ace USB saved files show"),
    enum("CounterResetSource", CT, "Signal that resets the selected counter.",
         entries("Off", "Software", "Line1", "Line3", "Line4", "Counter1End", "Counter2End"),
         default={"Counter1": "Off", "Counter2": "Counter2End"}, selected_by="CounterSelector",
         chosen="Counter2's Counter2End as real ace USB saved files show"),
    enum("CounterResetActivation", CT, "Edge or level of the reset signal that resets the "
         "counter (a level holds it at 0).",
         entries("RisingEdge", "FallingEdge", "AnyEdge", "LevelHigh", "LevelLow"),
         default="RisingEdge", selected_by="CounterSelector"),
    command("CounterReset", CT, "Resets the selected counter.", selected_by="CounterSelector"),
    integer("CounterDuration", CT, "Count at which the counter ends (0: never).", default=0,
            minimum=0, maximum=0xFFFFFFFF, selected_by="CounterSelector",
            visibility="Expert", chosen="range 0-2^32-1 chosen"),
    enum("TimerSelector", CT, "Which timer the timer features configure.", entries("Timer1"),
         default="Timer1"),
    floating("TimerDuration", CT, "Duration of the timer pulse.", default=10.0, minimum=0.0,
             maximum=16_777_215.0, unit="us", selected_by="TimerSelector",
             chosen="range 0-16777215 us chosen", decimals=1),
    floating("TimerDelay", CT, "Delay from the timer trigger to the pulse.", default=0.0,
             minimum=0.0, maximum=16_777_215.0, unit="us", selected_by="TimerSelector",
             chosen="range 0-16777215 us chosen", decimals=1),
    enum("TimerTriggerSource", CT, "Signal that starts the timer.",
         entries("ExposureStart", "FlashWindowStart"),
         default="ExposureStart", selected_by="TimerSelector"),
)


EV = "EventControl"


def _event_data(event: str) -> str:
    """The Event<event>Data category: nodes read from the last <event> event received
    (SFNC 2.x names; pylon registers camera-event handlers on them)."""
    cat = f"Event{event}Data"
    data = [integer(f"Event{event}", cat,
                    f"Id of the {event} event; its callbacks fire when one arrives.",
                    access="RO", length=2, event=event, event_offset=EVENT_ID_OFFSET,
                    representation="HexNumber", visibility="Expert"),
            integer(f"Event{event}Timestamp", cat, f"Time (ns) of the {event} event.",
                    access="RO", length=8, event=event, event_offset=EVENT_TIMESTAMP_OFFSET,
                    unit="ns", visibility="Expert")]
    if event in EVENTS_WITH_FRAME_ID:
        data.append(integer(f"Event{event}FrameID", cat,
                            f"Frame id the {event} event refers to.", access="RO", length=8,
                            event=event, event_offset=EVENT_DATA_OFFSET, visibility="Expert"))
    return category(cat, f"Data of the last {event} event.", *data)


category(
    EV, "Which events the device sends, and the data of the events it sent.",
    enum("EventSelector", EV, "Which event EventNotification configures.",
         entries(*EVENT_IDS), default="ExposureEnd"),
    enum("EventNotification", EV, "Whether the selected event is sent.", entries("Off", "On"),
         default="Off", selected_by="EventSelector"),
    *[_event_data(event) for event in EVENT_IDS],
)

CH = "ChunkDataControl"
CHUNK_SELECTOR = ("Image", *CHUNKS)
category(
    CH, "Data appended to each image as chunks.",
    boolean("ChunkModeActive", CH, "Appends the enabled chunks to each image.",
            locked=WHILE_ACQUIRING),
    enum("ChunkSelector", CH, "Which chunk ChunkEnable controls.", entries(*CHUNK_SELECTOR),
         default="Image"),
    # ChunkEnable[Image] takes writes, as on the real ace USB (Aravis's chunk setup switches
    # every entry off first; Basler's grabone sample switches every one on); the image is
    # the payload's first chunk whatever it reads.
    boolean("ChunkEnable", CH, "Whether the selected chunk is appended.",
            selected_by="ChunkSelector", locked=WHILE_ACQUIRING,
            default={name: name == "Image" for name in CHUNK_SELECTOR}),
    integer("ChunkTimestamp", CH, "Time (ns) the frame's exposure started.", access="RO",
            length=8, chunk_id=CHUNKS["Timestamp"][0], unit="ns"),
    floating("ChunkExposureTime", CH, "Exposure time of the frame.", access="RO",
             chunk_id=CHUNKS["ExposureTime"][0], unit="us"),
    # A selected chunk feature reads its selector's entry value times its length into the
    # chunk: the CounterValue chunk holds one u32 per counter, in COUNTERS order.
    enum("ChunkGainSelector", CH, "Which gain ChunkGain reports.", entries("All"),
         default="All", visibility="Expert", host_local=True),
    floating("ChunkGain", CH, "Gain of the frame.", access="RO",
             chunk_id=CHUNKS["Gain"][0], unit="dB", selected_by="ChunkGainSelector"),
    integer("ChunkLineStatusAll", CH, "Line states when the frame's exposure started.",
            access="RO", chunk_id=CHUNKS["LineStatusAll"][0], representation="HexNumber"),
    enum("ChunkCounterSelector", CH, "Which counter ChunkCounterValue reports.",
         entries(*COUNTERS), default="Counter1", visibility="Expert", host_local=True),
    integer("ChunkCounterValue", CH, "Value of the selected counter when the frame's "
            "exposure started.", access="RO", chunk_id=CHUNKS["CounterValue"][0],
            selected_by="ChunkCounterSelector"),
    integer("ChunkSequencerSetActive", CH, "The sequencer set the frame was taken with.",
            access="RO", chunk_id=CHUNKS["SequencerSetActive"][0]),
    integer("ChunkPayloadCRC16", CH, "CRC-16 of the image data.", access="RO",
            chunk_id=CHUNKS["PayloadCRC16"][0], representation="HexNumber"),
)

UD = "UserDefinedValueControl"
category(
    UD, "Values the user keeps in the camera (saved in user sets).",
    enum("UserDefinedValueSelector", UD, "Which user-defined value UserDefinedValue shows.",
         entries("Value1", "Value2", "Value3", "Value4", "Value5"), default="Value1",
         visibility="Guru"),
    integer("UserDefinedValue", UD, "The selected user-defined value.", default=0,
            minimum=-(1 << 31), maximum=(1 << 31) - 1, signed=True,
            selected_by="UserDefinedValueSelector", visibility="Guru"),
)

# Factory sets: the defaults, with these settings changed ({feature: {instance: value}}).
# Basler: AutoFunctions "enables the camera's Exposure Auto and Gain Auto"; High Gain is the
# standard setup with the gain raised (the ace GigE manual: by 6 dB).
FACTORY_SETS = {
    "Default": {},
    "HighGain": {"Gain": {"All": 6.0}},
    "AutoFunctions": {"ExposureAuto": {"": "Continuous"}, "GainAuto": {"": "Continuous"}},
}
USER_SETS = (*FACTORY_SETS, "UserSet1", "UserSet2", "UserSet3")
# (register values: the user sets keep theirs from before the factory sets beyond Default)
USER_SET_ENTRIES = valued(Default=0, UserSet1=1, UserSet2=2, UserSet3=3, HighGain=4,
                          AutoFunctions=5)
US = "UserSetControl"
category(
    US, "Saving and loading of camera settings.",
    enum("UserSetSelector", US, "Which user set UserSetLoad and UserSetSave use.",
         USER_SET_ENTRIES, default="Default"),
    command("UserSetLoad", US, "Loads the selected user set.", selected_by="UserSetSelector",
            locked=WHILE_ACQUIRING),
    command("UserSetSave", US, "Saves the current settings to the selected user set.",
            selected_by="UserSetSelector",
            locked=f"UserSetSelector in {tuple(FACTORY_SETS)!r}"),
    enum("UserSetDefault", US, "User set loaded when the camera starts.",
         USER_SET_ENTRIES, default="Default"),
)

# File access (SFNC "File Access Control", u3v_sim/camera/file_access.py): UserData and the
# saved user sets as files. Not settings: nothing here is saved in user sets or files.
FA = "FileAccessControl"
FILE_BUFFER_BYTES = 4096
category(
    FA, "Files in the camera, read and written through FileAccessBuffer.",
    enum("FileSelector", FA, "The file the file operations act on.",
         entries("UserData", "UserSet1", "UserSet2", "UserSet3"), default="UserData",
         persisted=False, visibility="Guru"),
    enum("FileOperationSelector", FA, "The operation FileOperationExecute carries out.",
         entries("Open", "Close", "Read", "Write"), default="Open", persisted=False,
         visibility="Guru"),
    enum("FileOpenMode", FA, "How Open opens the file.", entries("Read", "Write"),
         default="Read", persisted=False),
    integer("FileAccessOffset", FA, "Where in the file Read and Write start.", default=0,
            minimum=0, maximum=0xFFFFFFFF, unit="B", persisted=False, visibility="Guru"),
    integer("FileAccessLength", FA, "How many bytes Read and Write move.", default=0,
            minimum=0, maximum=FILE_BUFFER_BYTES, unit="B", persisted=False,
            visibility="Guru"),
    F("FileAccessBuffer", REGISTER, FA, "The bytes Read brings and Write takes.",
      length=FILE_BUFFER_BYTES, provided=True, persisted=False, visibility="Guru"),
    command("FileOperationExecute", FA, "Carries out the selected operation on the file.",
            visibility="Guru"),
    enum("FileOperationStatus", FA, "Whether the last operation succeeded.",
         entries("Success", "Failure"), access="RO", provided=True, visibility="Guru"),
    integer("FileOperationResult", FA, "Bytes the last Read or Write moved.", access="RO",
            provided=True, unit="B", visibility="Guru"),
    integer("FileSize", FA, "Size of the selected file.", access="RO", provided=True,
            unit="B", selected_by="FileSelector", visibility="Guru"),
)

TL = "TransportLayerControl"
category(
    TL, "Transport layer.",
    integer("PayloadSize", TL, "Bytes of one image with its chunks.", access="RO",
            formula=f"{_image_bytes()} + ({_chunk_bytes()})", unit="B"),
    # The host's stream programming, as it wrote it into the SIRM (u3v-protocol.md 5).
    *[integer(name, TL, description, access="RO", provided=True, unit=unit,
              visibility="Guru")
      for name, description, unit in (
          ("SIPayloadTransferSize", "Bytes of each payload transfer the host programmed.", "B"),
          ("SIPayloadTransferCount", "Payload transfers of that size per frame.", None),
          ("SIPayloadFinalTransfer1Size", "Bytes of the first final payload transfer.", "B"),
          ("SIPayloadFinalTransfer2Size", "Bytes of the second final payload transfer.",
           "B"))],
)

# Commands that rewrite stored settings: cached values of every setting are invalidated by them.
SETTINGS_INVALIDATORS = ("UserSetLoad", "DeviceReset")

FEATURES: tuple[Feature, ...] = tuple(_features)
CATEGORIES: tuple[Category, ...] = tuple(_categories)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
CHOSEN_RANGES: dict[str, str] = {f.name: f.chosen for f in FEATURES if f.chosen}

# Features saved in user sets: the writable settings (every selector instance of each), but
# the LUT (Basler, user sets: not on ace Classic/U/L).
USER_SET_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FEATURES
    if f.access == "RW" and f.kind not in (COMMAND, STRING, REGISTER)
    and not f.name.startswith("UserSet") and f.name != "DeviceLinkSelector"
    and f.category not in (LUT, FA) and not f.host_local)

__all__ = ["FEATURES", "CATEGORIES", "BY_NAME", "CHOSEN_RANGES", "EVENT_IDS",
           "EVENTS_WITH_FRAME_ID", "CHUNKS",
           "VENDOR", "MODEL", "EnumEntry", "BOOLEAN", "COMMAND", "ENUMERATION", "FLOAT",
           "INTEGER", "STRING"]
