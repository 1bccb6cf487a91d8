"""What of Basler's ace USB feature set this model leaves out, and why.

pylon 9.1.1's generated parameter list (``_BaslerUniversalCameraParams.h``) says for every
feature and enumeration entry which camera families it applies to; the ace USB ones are checked
in as ``tests/genicam/ace_usb_features.json``. The ace USB family spans colour and mono models
and several sensors, so some of its features cannot exist on a mono IMX255 camera. Every ace USB
feature and entry is either in the table (``acA4096_40um.py``) or named here with the reason;
``tests/genicam/test_ace_usb_coverage.py`` holds the two to each other.
"""

from __future__ import annotations

COLOUR = "colour models only: this camera is mono"
LIGHT_CONTROL = ("drives Basler lighting devices through a GPIO line with a protocol Basler does "
                 "not publish")
EXPERT_KEYS = "unlocks undocumented Basler expert features with keys that are not public"
OTHER_SENSORS = ("a feature of other ace USB sensors; no public source puts it on the "
                 "acA4096-40um (IMX255), whose documented feature set this model follows")

NOT_APPLICABLE: dict[str, str] = {
    **dict.fromkeys((
        "BalanceRatio", "BalanceRatioSelector", "BalanceWhiteAuto", "BslHue", "BslSaturation",
        "ColorAdjustmentHue", "ColorAdjustmentSaturation", "ColorAdjustmentSelector",
        "ColorSpace", "ColorTransformationSelector", "ColorTransformationValue",
        "ColorTransformationValueSelector", "DemosaicingMode", "DeviceColorPipelineVersion",
        "LightSourcePreset", "NoiseReduction", "PgiMode", "SharpnessEnhancement"), COLOUR),
    **dict.fromkeys((
        "BLCSerialFramingError", "BLCSerialParityError", "BLCSerialPortBaudRate",
        "BLCSerialPortClearErrors", "BLCSerialPortParity", "BLCSerialPortReceiveCmd",
        "BLCSerialPortReceiveValue", "BLCSerialPortSource", "BLCSerialPortStopBits",
        "BLCSerialPortTransmitCmd", "BLCSerialPortTransmitValue", "BLCSerialReceiveQueueStatus",
        "BLCSerialTransmitQueueStatus", "BslLightControlEnumerateDevices",
        "BslLightControlErrorStatus", "BslLightControlMode", "BslLightControlSource",
        "BslLightControlStatus", "BslLightDeviceBrightness", "BslLightDeviceChangeID",
        "BslLightDeviceClearLastError", "BslLightDeviceFirmwareVersion",
        "BslLightDeviceLastError", "BslLightDeviceMaxCurrent", "BslLightDeviceOperationMode",
        "BslLightDeviceSelector", "BslLightDeviceStrobeDuration", "BslLightDeviceStrobeMode"),
        LIGHT_CONTROL),
    **dict.fromkeys(("ExpertFeatureAccessKey", "ExpertFeatureAccessSelector",
                     "ExpertFeatureEnable"), EXPERT_KEYS),
    **dict.fromkeys((
        "CameraOperationMode", "ExposureTimeMode", "ExposureOverlapTimeMax",
        "ExposureOverlapTimeMode", "SensorReadoutMode", "DecimationHorizontal",
        "DecimationVertical", "ScalingHorizontal", "ScalingVertical", "ROIZoneMode",
        "ROIZoneOffset", "ROIZoneSelector", "ROIZoneSize", "LinePitch", "LinePitchEnable",
        "VignettingCorrectionLoad", "VignettingCorrectionMode", "BslBrightness", "BslContrast",
        "BslContrastMode", "AutoFunctionROIUseTonalRange", "AutoTonalRangeAdjustmentSelector",
        "AutoTonalRangeModeSelector", "AutoTonalRangeTargetBright", "AutoTonalRangeTargetDark",
        "AutoTonalRangeThresholdBright", "AutoTonalRangeThresholdDark", "TonalRangeAuto",
        "TonalRangeEnable", "TonalRangeSelector", "TonalRangeSourceBright",
        "TonalRangeSourceDark", "TonalRangeTargetBright", "TonalRangeTargetDark"),
        OTHER_SENSORS),
    "PayloadTransferBlockDelay": ("a Guru tuning of Basler's USB controller that Basler does "
                                  "not describe"),
    "AutoFunctionAOIUseBrightness": ("invisible pre-SFNC name of AutoFunctionROIUseBrightness; "
                                     "hosts use the ROI node"),
    "AutoFunctionAOIUseWhiteBalance": ("invisible pre-SFNC name of "
                                       "AutoFunctionROIUseWhiteBalance; hosts use the ROI node"),
}

# (feature, entry): why the entry is not offered here.
NOT_APPLICABLE_ENTRIES: dict[tuple[str, str], str] = {
    **{("PixelFormat", e): COLOUR for e in (
        "BGR8", "RGB8", "YCbCr422_8", *(f"Bayer{p}{b}" for p in ("BG", "GB", "GR", "RG")
                                        for b in ("8", "10", "10p", "12", "12p")))},
    **{("PixelSize", e): "no pixel format of this camera has that size"
       for e in ("Bpp1", "Bpp2", "Bpp4", "Bpp24")},
    **{(f, e): COLOUR for f in ("UserSetSelector", "UserSetDefault")
       for e in ("Color", "ColorRaw", "LightMicroscopy")},
    **{("PixelColorFilter", e): COLOUR for e in ("BayerBG", "BayerGB", "BayerGR", "BayerRG")},
    ("ShutterMode", "GlobalResetRelease"): "the IMX255 has a global shutter only",
    ("ShutterMode", "Rolling"): "the IMX255 has a global shutter only",
    ("RemoveParameterLimitSelector", "ExposureOverhead"): OTHER_SENSORS,
    ("FileSelector", "ExpertFeature7File"): EXPERT_KEYS,
    **{("FileSelector", e): OTHER_SENSORS for e in (
        "UserGainShading1", "UserGainShading2", "UserOffsetShading1", "UserOffsetShading2",
        "VignettingCorrection")},
    ("DeviceScanType", "Linescan"): "an area-scan camera",
    ("DeviceTemperatureSelector", "Framegrabberboard"): "a USB camera has no frame grabber board",
    ("GainSelector", "AnalogAll"): OTHER_SENSORS,
    ("GainSelector", "DigitalAll"): OTHER_SENSORS,
    ("LineSource", "BslLightControl"): LIGHT_CONTROL,
    ("TriggerSource", "Line2"): "Line2 is an opto-coupled output here",
    ("CounterResetSource", "Line2"): "Line2 is an opto-coupled output here",
    ("SequencerTriggerSource", "Line2"): "Line2 is an opto-coupled output here",
    ("SoftwareSignalSelector", "SoftwareSignal4"): OTHER_SENSORS,
    **{(f, e): "this camera has two counters" for f, e in (
        ("CounterEventSource", "Counter3End"), ("CounterResetSource", "Counter3End"),
        ("CounterResetSource", "Counter4End"), ("SequencerTriggerSource", "Counter3End"))},
}
