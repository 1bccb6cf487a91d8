# u3v-sim: `make run` starts the simulator, `make test` runs the test suite.
# Both install what they need first (apt packages as root, a venv, pip packages).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Debian packages used across the project: umockdev transport, USB tools, Aravis (client tests),
# headers to build PyGObject, and the MQTT broker.
APT_PACKAGES := umockdev libumockdev0 gir1.2-umockdev-1.0 libusb-1.0-0 usbutils \
	aravis-tools-cli gir1.2-aravis-0.8 python3-gi libgirepository1.0-dev libcairo2-dev \
	pkg-config mosquitto iproute2

.PHONY: install apt test run xml bench clean

install: $(STAMP)

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root (or install: $$missing)" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | apt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

test: install
	$(VENV)/bin/pytest -q

run: install
	$(VENV)/bin/u3v-sim serve

xml: install
	$(PY) scripts/generate_xml.py

bench: install
	@for b in scripts/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
