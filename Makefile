.PHONY: run test bench
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/venv.sh requirements-dev.txt && .venv/bin/python -m bench
