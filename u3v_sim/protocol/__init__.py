"""Sans-I/O codecs of the USB3 Vision protocols: bytes in, bytes out."""
