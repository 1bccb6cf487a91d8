"""The camera model: feature values, register space, bootstrap maps and device behaviour."""
