"""The checked-in XML is the generator's output, and it is a valid GenApi 1.1 description."""

import io
import zipfile
from pathlib import Path

from genicam import genapi

from u3v_features import FEATURES, build_xml, build_zip
from u3v_features.xmlgen import XML_FILE_NAME

XML_DIR = Path(__file__).resolve().parents[2] / "xml"


def test_checked_in_xml_equals_generator_output():
    xml = build_xml()
    assert (XML_DIR / XML_FILE_NAME).read_bytes() == xml, "xml/ is stale: run make xml"
    zipped = (XML_DIR / XML_FILE_NAME.replace(".xml", ".zip")).read_bytes()
    assert zipped == build_zip(xml)


def test_generation_is_deterministic():
    assert build_xml() == build_xml()
    assert build_zip(build_xml()) == build_zip(build_xml())


def test_zip_holds_exactly_the_xml():
    archive = zipfile.ZipFile(io.BytesIO(build_zip(build_xml())))
    assert archive.namelist() == [XML_FILE_NAME]
    assert archive.read(XML_FILE_NAME) == build_xml()


def test_official_genapi_loads_it_with_every_feature():
    node_map = genapi.NodeMap()
    node_map.load_xml_from_string(build_xml().decode())
    for feature in FEATURES:
        node = node_map.get_node(feature.name)
        assert node.node.name == feature.name
